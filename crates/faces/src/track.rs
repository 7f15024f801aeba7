//! Linking faces across frames into tracks by box overlap and landmark distance.

use crate::Face;

/// How detections are linked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackerConfig {
    /// A detection continues a track if their boxes overlap at least this much (IoU) ...
    pub min_iou: f32,
    /// ... or their landmarks are on average within this fraction of the box diagonal.
    pub max_landmark_distance: f32,
    /// A track not seen for more than this many analysed frames ends.
    pub max_gap: u64,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        TrackerConfig {
            min_iou: 0.3,
            max_landmark_distance: 0.25,
            max_gap: 10,
        }
    }
}

#[derive(Debug, Clone)]
struct Track {
    id: u32,
    last: Face,
    seen: u64,
}

/// The tracks of one video. Ids start at 0 and count up in order of first appearance.
#[derive(Debug, Clone, Default)]
pub struct Tracker {
    config: TrackerConfig,
    tracks: Vec<Track>,
    next_id: u32,
}

impl Tracker {
    /// A tracker for a new video.
    pub fn new(config: TrackerConfig) -> Self {
        Tracker {
            config,
            tracks: Vec::new(),
            next_id: 0,
        }
    }

    /// Tracks started so far.
    pub fn tracks_started(&self) -> u32 {
        self.next_id
    }

    /// Assigns a track id to each face of analysed frame number `seq` (increasing), greedily
    /// by best match (IoU minus landmark distance), starting new tracks for the rest.
    pub fn update(&mut self, seq: u64, faces: &[Face]) -> Vec<u32> {
        let gap = self.config.max_gap;
        self.tracks.retain(|t| seq.saturating_sub(t.seen) <= gap);
        let mut pairs = Vec::new();
        for (ti, t) in self.tracks.iter().enumerate() {
            for (fi, f) in faces.iter().enumerate() {
                let iou = t.last.iou(f);
                let dist = t.last.landmark_distance(f);
                if iou >= self.config.min_iou || dist <= self.config.max_landmark_distance {
                    pairs.push((iou - dist, ti, fi));
                }
            }
        }
        pairs.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        let mut ids = vec![None; faces.len()];
        let mut used = vec![false; self.tracks.len()];
        for (_, ti, fi) in pairs {
            if used[ti] || ids[fi].is_some() {
                continue;
            }
            used[ti] = true;
            ids[fi] = Some(self.tracks[ti].id);
            self.tracks[ti].last = faces[fi];
            self.tracks[ti].seen = seq;
        }
        ids.iter()
            .enumerate()
            .map(|(fi, id)| {
                id.unwrap_or_else(|| {
                    let id = self.next_id;
                    self.next_id += 1;
                    self.tracks.push(Track {
                        id,
                        last: faces[fi],
                        seen: seq,
                    });
                    id
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(x: f32, y: f32) -> Face {
        let mut landmarks = [0.0; 10];
        for j in 0..5 {
            landmarks[2 * j] = x + 10.0 + 4.0 * j as f32;
            landmarks[2 * j + 1] = y + 15.0 + 3.0 * j as f32;
        }
        Face {
            x,
            y,
            w: 40.0,
            h: 50.0,
            score: 0.9,
            landmarks,
        }
    }

    #[test]
    fn two_moving_faces_keep_their_ids_and_a_new_one_gets_the_next() {
        let mut t = Tracker::new(TrackerConfig::default());
        assert_eq!(
            t.update(0, &[face(10.0, 10.0), face(200.0, 10.0)]),
            vec![0, 1]
        );
        // Listed in the other order and moved a little.
        assert_eq!(
            t.update(1, &[face(203.0, 12.0), face(13.0, 11.0)]),
            vec![1, 0]
        );
        assert_eq!(
            t.update(
                2,
                &[face(15.0, 12.0), face(400.0, 300.0), face(206.0, 13.0)]
            ),
            vec![0, 2, 1]
        );
    }

    #[test]
    fn a_track_ends_after_the_gap() {
        let mut t = Tracker::new(TrackerConfig {
            max_gap: 2,
            ..TrackerConfig::default()
        });
        assert_eq!(t.update(0, &[face(10.0, 10.0)]), vec![0]);
        assert_eq!(t.update(2, &[face(11.0, 10.0)]), vec![0]);
        assert_eq!(t.update(5, &[face(12.0, 10.0)]), vec![1]);
        assert_eq!(t.tracks_started(), 2);
    }
}
