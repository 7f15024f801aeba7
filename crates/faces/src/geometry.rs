//! Faces as boxes with landmarks, and the box arithmetic used by NMS and tracking.

use serde::{Deserialize, Serialize};

/// One detected face, in pixels of the original (displayed) frame.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Face {
    /// Box left.
    pub x: f32,
    /// Box top.
    pub y: f32,
    /// Box width.
    pub w: f32,
    /// Box height.
    pub h: f32,
    /// Detector confidence (heatmap peak, 0–1).
    pub score: f32,
    /// Five landmarks as x, y pairs: left eye, right eye, nose, left and right mouth corner
    /// (left/right as seen in the image).
    pub landmarks: [f32; 10],
}

impl Face {
    /// Box centre.
    pub fn centre(&self) -> (f32, f32) {
        (self.x + self.w / 2.0, self.y + self.h / 2.0)
    }

    /// Intersection over union of two boxes.
    pub fn iou(&self, other: &Face) -> f32 {
        iou(
            [self.x, self.y, self.w, self.h],
            [other.x, other.y, other.w, other.h],
        )
    }

    /// Mean landmark distance to `other`, in units of this face's box diagonal.
    pub fn landmark_distance(&self, other: &Face) -> f32 {
        let diag = (self.w * self.w + self.h * self.h).sqrt().max(1.0);
        let mut sum = 0.0;
        for j in 0..5 {
            let dx = self.landmarks[2 * j] - other.landmarks[2 * j];
            let dy = self.landmarks[2 * j + 1] - other.landmarks[2 * j + 1];
            sum += (dx * dx + dy * dy).sqrt();
        }
        sum / 5.0 / diag
    }
}

/// IoU of two `[x, y, w, h]` boxes (0 when either is empty).
pub fn iou(a: [f32; 4], b: [f32; 4]) -> f32 {
    let ix = ((a[0] + a[2]).min(b[0] + b[2]) - a[0].max(b[0])).max(0.0);
    let iy = ((a[1] + a[3]).min(b[1] + b[3]) - a[1].max(b[1])).max(0.0);
    let inter = ix * iy;
    let union = a[2] * a[3] + b[2] * b[3] - inter;
    if union > 0.0 { inter / union } else { 0.0 }
}

/// Greedy non-maximum suppression: best score first, dropping boxes that overlap a kept one
/// by `threshold` IoU or more. Ties keep the earlier box, so the result is deterministic.
pub fn nms(mut faces: Vec<Face>, threshold: f32) -> Vec<Face> {
    faces.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Face> = Vec::with_capacity(faces.len());
    for f in faces {
        if kept.iter().all(|k| k.iou(&f) < threshold) {
            kept.push(f);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(x: f32, y: f32, w: f32, h: f32, score: f32) -> Face {
        Face {
            x,
            y,
            w,
            h,
            score,
            landmarks: [0.0; 10],
        }
    }

    #[test]
    fn iou_of_known_boxes() {
        assert_eq!(iou([0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 10.0]), 1.0);
        assert_eq!(iou([0.0, 0.0, 10.0, 10.0], [20.0, 0.0, 10.0, 10.0]), 0.0);
        // Half overlap: 50 / 150.
        let v = iou([0.0, 0.0, 10.0, 10.0], [5.0, 0.0, 10.0, 10.0]);
        assert!((v - 1.0 / 3.0).abs() < 1e-6);
        assert_eq!(iou([0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]), 0.0);
    }

    #[test]
    fn nms_keeps_the_best_of_overlapping_boxes_and_distinct_ones() {
        let kept = nms(
            vec![
                face(0.0, 0.0, 10.0, 10.0, 0.6),
                face(1.0, 1.0, 10.0, 10.0, 0.9),
                face(50.0, 50.0, 10.0, 10.0, 0.7),
            ],
            0.3,
        );
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0].score, 0.9);
        assert_eq!(kept[1].score, 0.7);
    }
}
