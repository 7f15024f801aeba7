//! The stacked score (`[model] score = "stacked"`): a logistic regression of the face label on
//! two logits, the classifier's and the appearance network's (`frames.appearance_logit`),
//! with its own calibrated thresholds. Its card is `models/stack.json`, embedded in the
//! binary; it names the SHA-256 of both networks it was fitted on, and is refused beside
//! others.

use crate::{ModelError, Reason, Thresholds, sha256_hex, short_sha256};

/// `models/stack.json`: the weights of the two logits, the intercept, the thresholds and the
/// fit's record.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StackCard {
    /// Name and version, e.g. `seamscan-stack-1`.
    pub name: String,
    /// Weight of the classifier's logit (the log-odds of its score).
    pub classifier_weight: f64,
    /// Weight of the appearance network's logit.
    pub appearance_weight: f64,
    /// Intercept of the log-odds.
    pub bias: f64,
    /// Verdict thresholds of the stacked score.
    pub thresholds: Thresholds,
    /// Fraction of a video's highest face scores whose mean is the video score.
    pub video_top_fraction: f64,
    /// SHA-256 of the classifier weights the stack was fitted on.
    pub classifier_sha256: String,
    /// SHA-256 of the appearance network (`models/appearance.onnx`) it was fitted on.
    pub appearance_sha256: String,
    /// How it was fitted and how it did (free-form).
    pub training: serde_json::Value,
}

/// A loaded stack card and the SHA-256 of its file.
#[derive(Debug, Clone)]
pub struct Stack {
    card: StackCard,
    sha256: String,
}

const EMBEDDED_STACK: &str = include_str!("../../../models/stack.json");

/// A classifier score is turned into its logit clipped this far from 0 and 1 (as the fit's
/// `stack.py` does).
const CLIP: f64 = 1e-6;

impl Stack {
    /// The stack shipped in `models/stack.json` (embedded in the binary).
    pub fn embedded() -> Result<Self, ModelError> {
        Self::from_json(EMBEDDED_STACK)
    }

    /// A stack from its card's JSON text.
    pub fn from_json(text: &str) -> Result<Self, ModelError> {
        let card: StackCard =
            serde_json::from_str(text).map_err(|e| ModelError::Card(format!("stack: {e}")))?;
        let t = &card.thresholds;
        let finite = [
            card.classifier_weight,
            card.appearance_weight,
            card.bias,
            t.frame_suspicious,
            t.frame_manipulated,
            t.video_suspicious,
            t.video_manipulated,
        ]
        .iter()
        .all(|v| v.is_finite());
        if !finite
            || t.frame_suspicious > t.frame_manipulated
            || t.video_suspicious > t.video_manipulated
            || !(card.video_top_fraction > 0.0 && card.video_top_fraction <= 1.0)
        {
            return Err(ModelError::Card(
                "stack: weights, thresholds or video fraction out of range".into(),
            ));
        }
        Ok(Stack {
            card,
            sha256: sha256_hex(text.as_bytes()),
        })
    }

    /// The card.
    pub fn card(&self) -> &StackCard {
        &self.card
    }

    /// SHA-256 of the card file (which names both networks' SHA-256).
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// An error unless the stack was fitted on these networks' weights.
    pub fn check(
        &self,
        classifier_sha256: &str,
        appearance_sha256: &str,
    ) -> Result<(), ModelError> {
        for (what, fitted, given) in [
            (
                "classifier",
                &self.card.classifier_sha256,
                classifier_sha256,
            ),
            (
                "appearance network",
                &self.card.appearance_sha256,
                appearance_sha256,
            ),
        ] {
            if fitted != given {
                return Err(ModelError::Weights(format!(
                    "stack {} was fitted on the {what} {}, not on {given}",
                    self.card.name,
                    short_sha256(fitted)
                )));
            }
        }
        Ok(())
    }

    /// The stacked log-odds of a face with classifier score `classifier_score` and appearance
    /// logit `appearance_logit`.
    pub fn logit(&self, classifier_score: f64, appearance_logit: f64) -> f64 {
        let p = classifier_score.clamp(CLIP, 1.0 - CLIP);
        self.card.classifier_weight * (p / (1.0 - p)).ln()
            + self.card.appearance_weight * appearance_logit
            + self.card.bias
    }

    /// The stacked probability of manipulation ([`Stack::logit`] through the logistic). A
    /// face without an appearance logit (its landmarks fix no alignment) is stacked with the
    /// appearance term at 0 (the shipped network's logit is read before its last clip and is
    /// not centred: 0 lies among real faces', at the 67th percentile of the training people's
    /// out of fold), so that every face of a stacked run is on the stack's scale and
    /// thresholds.
    pub fn score(&self, classifier_score: f64, appearance_logit: Option<f64>) -> f64 {
        let a = appearance_logit.filter(|a| a.is_finite()).unwrap_or(0.0);
        1.0 / (1.0 + (-self.logit(classifier_score, a)).exp())
    }

    /// The reasons of a stacked score: the classifier's (their effects on its log-odds scaled
    /// by its weight in the stack) and the appearance network's share of the stacked log-odds
    /// (its weight times its logit, against a logit of 0, the same reference as
    /// [`Stack::score`]'s), as one list for [`crate::format_reasons`].
    pub fn reasons(&self, classifier: Vec<Reason>, appearance_logit: Option<f64>) -> Vec<Reason> {
        let mut out: Vec<Reason> = classifier
            .into_iter()
            .map(|r| Reason {
                effect: r.effect * self.card.classifier_weight,
                ..r
            })
            .collect();
        if let Some(a) = appearance_logit.filter(|a| a.is_finite()) {
            out.push(Reason {
                name: format!("appearance_logit={a:.4}"),
                effect: self.card.appearance_weight * a,
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_stack_loads_and_fits_the_shipped_networks() {
        let s = Stack::embedded().expect("models/stack.json loads");
        let c = crate::Classifier::embedded().unwrap();
        assert_eq!(s.card().classifier_sha256, c.weights_sha256());
        assert!(
            s.check(c.weights_sha256(), &s.card().appearance_sha256)
                .is_ok()
        );
        let e = s.check("0".repeat(64).as_str(), &s.card().appearance_sha256);
        assert!(
            e.unwrap_err()
                .to_string()
                .contains("fitted on the classifier")
        );
        let e = s.check(c.weights_sha256(), "f00");
        assert!(e.unwrap_err().to_string().contains("appearance network"));
        assert_eq!(s.sha256(), sha256_hex(EMBEDDED_STACK.as_bytes()));
    }

    #[test]
    fn the_stacked_score_is_the_logistic_of_the_weighted_logits() {
        let s = Stack::embedded().unwrap();
        let k = s.card();
        // A classifier score of 0.5 is a logit of 0: only the appearance term and the bias.
        let z = s.logit(0.5, 2.0);
        assert!(
            (z - (2.0 * k.appearance_weight + k.bias)).abs() < 1e-12,
            "{z}"
        );
        let p = s.score(0.5, Some(2.0));
        assert!((p - 1.0 / (1.0 + (-z).exp())).abs() < 1e-12);
        // Higher in both inputs; a classifier score of 1 or 0 is clipped, not infinite.
        assert!(s.score(0.9, Some(0.0)) > s.score(0.5, Some(0.0)));
        assert!(s.score(0.5, Some(1.0)) > s.score(0.5, Some(0.0)));
        // Without an appearance logit (or a NaN one) the appearance term is 0.
        assert_eq!(s.score(0.7, None), s.score(0.7, Some(0.0)));
        assert_eq!(s.score(0.7, Some(f64::NAN)), s.score(0.7, Some(0.0)));
        assert!(s.logit(1.0, 0.0).is_finite() && s.logit(0.0, 0.0).is_finite());
    }

    #[test]
    fn stack_reasons_scale_the_classifier_and_add_the_appearance_share() {
        let s = Stack::embedded().unwrap();
        let k = s.card();
        let r = s.reasons(
            vec![Reason {
                name: "crop[centre]".into(),
                effect: 1.0,
            }],
            Some(1.5),
        );
        assert_eq!(r.len(), 2);
        assert!((r[0].effect - k.classifier_weight).abs() < 1e-12);
        assert_eq!(r[1].name, "appearance_logit=1.5000");
        assert!((r[1].effect - 1.5 * k.appearance_weight).abs() < 1e-12);
        // Without an appearance logit, only the classifier's reasons.
        assert_eq!(s.reasons(Vec::new(), None), Vec::new());
    }

    #[test]
    fn bad_stack_cards_are_refused() {
        let good: serde_json::Value = serde_json::from_str(EMBEDDED_STACK).unwrap();
        for (key, value) in [
            ("video_top_fraction", serde_json::json!(0.0)),
            ("bias", serde_json::json!("x")),
            ("unknown_field", serde_json::json!(1)),
        ] {
            let mut bad = good.clone();
            bad[key] = value;
            assert!(Stack::from_json(&bad.to_string()).is_err(), "{key}");
        }
        let mut swapped = good.clone();
        swapped["thresholds"]["frame_suspicious"] = serde_json::json!(0.99);
        assert!(Stack::from_json(&swapped.to_string()).is_err());
        assert!(Stack::from_json("{").is_err());
    }
}
