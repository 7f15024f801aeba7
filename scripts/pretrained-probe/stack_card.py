"""A stack card for seamscan (models/stack.json's format, crates/model/src/stack.rs) from
stack.py's --json output: the weights, intercept and thresholds to 4 decimals (as stack.py
prints them and as the shipped card holds them), the video fraction stack.py used, and the
SHA-256 of both networks, so that seamscan refuses the card beside any other network.

usage: stack_card.py STACK.json CLASSIFIER.json APPEARANCE.onnx NAME DATE COMMAND > CARD.json

CLASSIFIER.json: the classifier card whose logits the stack was fitted on (its
weights_sha256 is copied); APPEARANCE.onnx: the network whose logits it was fitted on (its
file's SHA-256); COMMAND: how the fit was made, for the card's record. Only the Python
standard library.
"""
import hashlib
import json
import sys

# stack.py's video score: the mean of the highest quarter of a video's face scores.
TOP = 0.25


def main():
    if len(sys.argv) != 7:
        sys.exit(__doc__)
    stack_path, classifier_path, onnx_path, name, date, command = sys.argv[1:]
    with open(stack_path) as f:
        fit = json.load(f)
    with open(classifier_path) as f:
        classifier = json.load(f)
    with open(onnx_path, "rb") as f:
        appearance_sha256 = hashlib.sha256(f.read()).hexdigest()
    card = {
        "name": name,
        "classifier_weight": round(fit["classifier_weight"], 4),
        "appearance_weight": round(fit["appearance_weight"], 4),
        "bias": round(fit["bias"], 4),
        "thresholds": {k: round(v, 4) for k, v in fit["thresholds"].items()},
        "video_top_fraction": TOP,
        "classifier_sha256": classifier["weights_sha256"],
        "appearance_sha256": appearance_sha256,
        "training": {
            "date": date,
            "method": "logistic regression (scikit-learn, C=1e6) of the face label on the classifier's "
            "logit (log-odds of its score, clipped 1e-6 from 0 and 1) and the appearance network's logit; "
            "thresholds at the 95th (suspicious) and 99th (manipulated) percentiles of the real face "
            "scores and of the real video scores (mean of the highest quarter of a video's face scores)",
            "command": command,
            "precision": "weights, intercept and thresholds as stack.py printed them, to 4 decimals",
        },
    }
    json.dump(card, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
