//! The classifier end to end: scores, verdicts and reasons in a scan with the shipped model;
//! reproducible scores; and the training loop (synth → scan → train → scan with the new
//! model → eval) on a small real set.

use std::path::Path;
use std::process::Command;

use crate::args;
use crate::util::*;

const VERDICTS: [&str; 3] = ["authentic", "suspicious", "manipulated"];

fn shipped_weights_sha256() -> String {
    sha256sum(&repo().join("models/classifier.safetensors"))
}

#[test]
fn a_scan_scores_every_face_and_every_video() {
    let s = samples();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let (face, cartoon) = (s.join("single_face.mp4"), s.join("no_face.mp4"));
    seamscan_ok(args!(
        "scan",
        face,
        cartoon,
        "-o",
        out,
        "--max-frames",
        "12",
        "--device",
        "cpu"
    ));
    let frames = read_table(&out, "frames");
    let videos = read_table(&out, "videos");
    let face_rows = rows_of(&frames, &face);
    assert_eq!(face_rows.len(), 12);
    for r in &face_rows {
        let score = r["score"].f64().expect("a face row has a score");
        assert!((0.0..=1.0).contains(&score), "{score}");
        let logit = r["appearance_logit"]
            .f64()
            .expect("the appearance network ran");
        assert!(logit.is_finite(), "{logit}");
        let v = r["verdict"].str().unwrap();
        assert!(VERDICTS.contains(&v), "{v}");
        // Reasons exactly on the flagged rows, each naming a model feature.
        match v {
            "authentic" => assert!(r["reasons"].is_null()),
            _ => {
                let Value::List(reasons) = &r["reasons"] else {
                    panic!("flagged row without reasons: {r:?}")
                };
                assert!(!reasons.is_empty() && reasons.len() <= 3);
                // A feature at its value, or a region of the face crop, with its effect.
                for reason in reasons {
                    let text = reason.str().unwrap();
                    let named = text.contains('=') || text.starts_with("crop[");
                    assert!(named && text.contains("(+"), "{text}");
                }
            }
        }
    }
    let vf = video(&videos, &face);
    let vscore = vf["score"].f64().expect("video score");
    // The documented aggregate: mean of the top quarter (3 of 12) of its face scores.
    let mut scores: Vec<f64> = face_rows
        .iter()
        .map(|r| r["score"].f64().unwrap())
        .collect();
    scores.sort_by(|a, b| b.total_cmp(a));
    let top: f64 = scores[..3].iter().sum::<f64>() / 3.0;
    assert!((vscore - top).abs() < 1e-9, "{vscore} vs {top}");
    assert!(VERDICTS.contains(&vf["verdict"].str().unwrap()));
    // The real clip is not called manipulated.
    assert_ne!(vf["verdict"].str(), Some("manipulated"), "{vf:?}");
    let vc = video(&videos, &cartoon);
    assert_eq!(vc["verdict"].str(), Some("no_face"));
    assert!(vc["score"].is_null());
    for r in rows_of(&frames, &cartoon) {
        assert_eq!(r["verdict"].str(), Some("no_face"));
        assert!(r["score"].is_null());
    }
    // The default score is the stack's: the run names its card.
    let runs = read_table(&out, "runs");
    assert_eq!(runs[0]["model"].str(), Some("seamscan-stack-2"));
    assert_eq!(
        runs[0]["model_sha256"].str(),
        Some(sha256sum(&repo().join("models/stack.json")).as_str())
    );
}

#[test]
fn scores_are_identical_across_runs_on_the_cpu_path() {
    let clip = samples().join("carphone_pristine.mp4");
    let tmp = tempfile::tempdir().unwrap();
    let mut all = Vec::new();
    for name in ["a", "b"] {
        let out = tmp.path().join(name);
        seamscan_ok(args!(
            "scan",
            clip,
            "-o",
            out,
            "--max-frames",
            "10",
            "--device",
            "cpu",
            "-j",
            "1"
        ));
        let frames = read_table(&out, "frames");
        let scores: Vec<(u64, Option<f64>, String, Option<f64>)> = frames
            .iter()
            .map(|r| {
                (
                    r["frame_index"].u64().unwrap(),
                    r["score"].f64(),
                    r["verdict"].str().unwrap_or("").to_string(),
                    r["appearance_logit"].f64(),
                )
            })
            .collect();
        all.push(scores);
    }
    assert!(all[0].iter().any(|s| s.1.is_some()));
    assert!(all[0].iter().any(|s| s.3.is_some()));
    assert_eq!(
        all[0], all[1],
        "bit-identical scores for the same input, config and model"
    );
}

#[test]
fn the_appearance_network_can_be_turned_off_in_a_preset() {
    let clip = samples().join("single_face.mp4");
    let tmp = tempfile::tempdir().unwrap();
    let preset = tmp.path().join("no-appearance.toml");
    std::fs::write(
        &preset,
        "[model]\nappearance = false\nscore = \"classifier\"\n",
    )
    .unwrap();
    let out = tmp.path().join("out");
    seamscan_ok(args!(
        "scan",
        clip,
        "-o",
        out,
        "--max-frames",
        "2",
        "--pipeline",
        preset
    ));
    let frames = read_table(&out, "frames");
    assert_eq!(frames.len(), 2);
    for r in &frames {
        assert!(
            r["score"].f64().is_some(),
            "the classifier still scores: {r:?}"
        );
        assert!(r["appearance_logit"].is_null(), "{r:?}");
    }
}

#[test]
fn a_bad_model_file_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let card = tmp.path().join("m.json");
    std::fs::copy(repo().join("models/classifier.json"), &card).unwrap();
    let mut w = std::fs::read(repo().join("models/classifier.safetensors")).unwrap();
    let n = w.len();
    w[n - 1] ^= 0xff;
    std::fs::write(card.with_extension("safetensors"), w).unwrap();
    let clip = samples().join("single_face.mp4");
    let r = seamscan(args!(
        "scan",
        clip,
        "-o",
        tmp.path().join("o"),
        "--model",
        card
    ));
    assert_eq!(r.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&r.stderr).contains("SHA-256"));
}

#[test]
fn train_refuses_flags_that_do_not_fit_together_before_reading_anything() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 8] = [
        (&["--mask-weight", "1"], "--mask-weight needs --crop-size"),
        (&["--real-spread=-0.5"], "--real-spread must be 0 or more"),
        (&["--real-spread", "NaN"], "--real-spread must be 0 or more"),
        (
            &["--crop-size", "64", "--conv", "8,16", "--mask-weight", "1"],
            "at least 3 --conv widths",
        ),
        (&["--mask-weight=-1"], "--mask-weight must be 0 or more"),
        (
            &["--crop-size", "64", "--fresh-self-blends"],
            "--fresh-self-blends needs --crop-size and --features none",
        ),
        (&["--context"], "--context needs --crop-size"),
        (
            &[
                "--crop-size",
                "64",
                "--features",
                "none",
                "--fresh-self-blends",
                "--context",
            ],
            "--context cannot be used with --fresh-self-blends",
        ),
    ];
    for (flags, message) in cases {
        let (data, labels, out) = (
            tmp.path().join("absent"),
            tmp.path().join("absent.csv"),
            tmp.path().join("m"),
        );
        let mut a = args!("train", data, "--labels", labels, "-o", out).to_vec();
        a.extend(flags.iter().map(std::ffi::OsStr::new));
        let r = seamscan(&a);
        let err = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(2), "{flags:?}: {err}");
        assert!(err.contains(message), "{flags:?}: {err}");
    }
    assert!(!tmp.path().join("m").exists());
}

fn labels_by_clip(csv: &Path) -> Vec<(String, String, String)> {
    std::fs::read_to_string(csv)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].to_string(), f[1].to_string(), f[3].to_string())
        })
        .collect()
}

#[test]
fn synth_scan_train_and_eval_work_end_to_end() {
    let s = samples();
    let tmp = tempfile::tempdir().unwrap();
    let syn = tmp.path().join("synth");
    let (a, b) = (s.join("single_face.mp4"), s.join("carphone_pristine.mp4"));
    let synth = |dir: &Path, seed: &str, extra: &[&str]| {
        let mut argv = args!(
            "synth",
            a,
            b,
            "-o",
            dir,
            "--seed",
            seed,
            "--max-frames",
            "6",
            "--self-blends",
            "2",
            "--swaps",
            "1",
            "--crf",
            "20,30"
        )
        .to_vec();
        argv.extend(extra.iter().map(std::ffi::OsStr::new));
        seamscan_ok(&argv)
    };
    let printed = String::from_utf8_lossy(&synth(&syn, "7", &[]).stdout).into_owned();
    // Per source: 2 real (one per CRF), 2 self-blended, 1 swap.
    assert!(printed.contains("10 clips (4 real, 6 forged)"), "{printed}");
    let labels = syn.join("labels.csv");
    let rows = labels_by_clip(&labels);
    assert_eq!(rows.len(), 10);
    // Every clip is a real H.264 file of 6 frames whose SHA-256 is the one recorded.
    for (clip, sha, method) in &rows {
        let path = syn.join(clip);
        assert_eq!(&sha256sum(&path), sha, "{clip}");
        assert_eq!(ffprobe_frames(&path), 6, "{clip}");
        assert!(["real", "self_blend", "swap"].contains(&method.as_str()));
        // Forged clips have one ground-truth mask per frame.
        if method != "real" {
            let stem = Path::new(clip).file_stem().unwrap();
            let masks = std::fs::read_dir(syn.join("masks").join(stem))
                .unwrap()
                .count();
            assert_eq!(masks, 6, "{clip}");
        }
    }
    // The manifest names the encoder the clips' bytes depend on.
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(syn.join("synth.json")).unwrap()).unwrap();
    let encoder = &manifest["encoder"];
    assert!(
        encoder["ffmpeg"]
            .as_str()
            .unwrap()
            .starts_with("libavcodec "),
        "{encoder}"
    );
    let caps = encoder["x264_cpu_capabilities"].as_str().unwrap();
    assert!(caps.split(' ').any(|c| c.starts_with("SSE")), "{encoder}");
    // Deterministic for a seed; another seed gives other forgeries (same real clips).
    let again = tmp.path().join("again");
    synth(&again, "7", &[]);
    assert_eq!(labels_by_clip(&again.join("labels.csv")), rows);
    let other = tmp.path().join("other");
    synth(&other, "8", &[]);
    let other_rows = labels_by_clip(&other.join("labels.csv"));
    let forged = |r: &Vec<(String, String, String)>| -> Vec<String> {
        r.iter()
            .filter(|x| x.2 != "real")
            .map(|x| x.1.clone())
            .collect()
    };
    assert_ne!(forged(&other_rows), forged(&rows));
    // Poisson and multi-band blending make the same draws: the same real clips, the same
    // forgeries blended another way (other bytes), and say so in the label's detail.
    let real = |r: &Vec<(String, String, String)>| -> Vec<(String, String)> {
        r.iter()
            .filter(|x| x.2 == "real")
            .map(|x| (x.0.clone(), x.1.clone()))
            .collect()
    };
    for blending in ["poisson", "multiband"] {
        let dir = tmp.path().join(blending);
        synth(&dir, "7", &["--blending", blending]);
        let blended = labels_by_clip(&dir.join("labels.csv"));
        assert_eq!(real(&blended), real(&rows), "{blending}");
        let (bf, af) = (forged(&blended), forged(&rows));
        assert_eq!(bf.len(), af.len());
        assert!(
            bf.iter().zip(&af).all(|(b, a)| b != a),
            "a forgery came out unchanged by {blending}"
        );
        let text = std::fs::read_to_string(dir.join("labels.csv")).unwrap();
        assert!(
            text.lines()
                .skip(1)
                .filter(|l| !l.contains(",real,"))
                .all(|l| l.contains(&format!("{blending}; "))),
            "{text}"
        );
    }

    // Features, training (validation on the other source), the new model in a scan, eval.
    let feats = tmp.path().join("features");
    seamscan_ok(args!(
        "scan",
        syn.join("clips"),
        "-o",
        feats,
        "--pipeline",
        repo().join("pipelines/training.toml")
    ));
    // Training runs on these features: the plain MLP, validated on the other source, and a
    // crops-only trunk with fresh self-blends, an ensemble of two members each validated on
    // one source (`--folds`).
    const MLP: &[&str] = &["--epochs", "40", "--validation-source", "carphone_pristine"];
    const CNN: &[&str] = &[
        "--folds",
        "2",
        "--epochs",
        "3",
        "--crop-size",
        "32",
        "--conv",
        "8,16,16",
        "--features",
        "none",
        "--fresh-self-blends",
        "--mask-weight",
        "1",
    ];
    let train = |dir: &Path, extra: &[&str]| {
        let mut a = args!("train", feats, "--labels", labels, "-o", dir, "--seed", "3").to_vec();
        a.extend(extra.iter().map(std::ffi::OsStr::new));
        seamscan_ok(&a)
    };
    let model_dir = tmp.path().join("model");
    let trained = train(&model_dir, MLP);
    let text = String::from_utf8_lossy(&trained.stdout);
    assert!(text.contains("weights SHA-256"), "{text}");
    for f in ["classifier.json", "classifier.safetensors", "classifier.md"] {
        assert!(model_dir.join(f).is_file(), "{f}");
    }
    let card: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(model_dir.join("classifier.json")).unwrap())
            .unwrap();
    assert_eq!(
        card["weights_sha256"].as_str().unwrap(),
        sha256sum(&model_dir.join("classifier.safetensors"))
    );
    assert_eq!(
        card["training"]["validation_sources"][0],
        "carphone_pristine"
    );
    let t = &card["thresholds"];
    assert!(t["frame_suspicious"].as_f64() <= t["frame_manipulated"].as_f64());
    // Same data and seed: the same weights.
    let model2 = tmp.path().join("model2");
    train(&model2, MLP);
    assert_eq!(
        sha256sum(&model2.join("classifier.safetensors")),
        sha256sum(&model_dir.join("classifier.safetensors"))
    );
    // A scan writes rows as its workers finish frames, so a dataset's row order is not fixed;
    // `train` reads the rows in an order of its own (clip SHA-256, frame, face). The same clips
    // under names that sort the other way round, scanned one at a time, hold their rows in the
    // reverse order, and give the same weights.
    let reversed = tmp.path().join("reversed");
    std::fs::create_dir(&reversed).unwrap();
    let mut clips: Vec<std::path::PathBuf> = std::fs::read_dir(syn.join("clips"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    clips.sort();
    for (k, clip) in clips.iter().enumerate() {
        let name = clip.file_name().unwrap().to_string_lossy();
        std::fs::copy(
            clip,
            reversed.join(format!("{:02}-{name}", clips.len() - k)),
        )
        .unwrap();
    }
    let feats_reversed = tmp.path().join("features-reversed");
    seamscan_ok(args!(
        "scan",
        reversed,
        "-o",
        feats_reversed,
        "--pipeline",
        repo().join("pipelines/training.toml"),
        "--jobs",
        "1"
    ));
    let first_clip = |out: &Path| {
        read_table(out, "frames")[0]["sha256"]
            .str()
            .map(str::to_string)
    };
    assert_ne!(first_clip(&feats), first_clip(&feats_reversed));
    let model3 = tmp.path().join("model3");
    let mut a = args!(
        "train",
        feats_reversed,
        "--labels",
        labels,
        "-o",
        model3,
        "--seed",
        "3"
    )
    .to_vec();
    a.extend(MLP.iter().map(std::ffi::OsStr::new));
    seamscan_ok(&a);
    assert_eq!(
        sha256sum(&model3.join("classifier.safetensors")),
        sha256sum(&model_dir.join("classifier.safetensors")),
        "the same rows in another order trained other weights"
    );

    let scored = tmp.path().join("scored");
    let model_json = model_dir.join("classifier.json");
    // Another classifier under the default (stacked) score: a usage error that says how to
    // score with it alone, before anything is scanned.
    let r = seamscan(args!(
        "scan",
        syn.join("clips"),
        "-o",
        scored,
        "--model",
        model_json
    ));
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(2), "{err}");
    assert!(
        err.contains("fitted on the classifier") && err.contains("--score classifier"),
        "{err}"
    );
    assert!(!scored.join("frames").exists(), "nothing was scanned");
    seamscan_ok(args!(
        "scan",
        syn.join("clips"),
        "-o",
        scored,
        "--model",
        model_json,
        "--score",
        "classifier"
    ));
    let runs = read_table(&scored, "runs");
    assert_eq!(
        runs[0]["model_sha256"].str().unwrap(),
        card["weights_sha256"].as_str().unwrap()
    );
    let report = seamscan_ok(args!(
        "eval", "--labels", labels, scored, "--by", "crf", "--model", model_json
    ));
    let text = String::from_utf8_lossy(&report.stdout);
    assert!(text.contains("frame  all"), "{text}");
    assert!(text.contains("video  all"), "{text}");
    assert!(text.contains("crf=30"), "{text}");
    // The same stored scores judged by the shipped model's thresholds: refused, since
    // `runs.model_sha256` names this model; with --rescore the shipped model scores them.
    let r = seamscan(args!(
        "eval",
        "--labels",
        labels,
        scored,
        "--bootstrap",
        "0"
    ));
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(2), "{err}");
    assert!(err.contains("scored by another model"), "{err}");
    let shipped_report = tmp.path().join("eval-shipped");
    seamscan_ok(args!(
        "eval",
        "--labels",
        labels,
        scored,
        "--bootstrap",
        "0",
        "--rescore",
        "--report",
        shipped_report
    ));
    for f in [
        "metrics.parquet",
        "roc.parquet",
        "scores.parquet",
        "roc.svg",
    ] {
        assert!(scored.join("eval").join(f).is_file(), "{f}");
    }
    // Every scored face row and video, with its label, for analyses of one's own.
    let scores = read_part(&scored.join("eval/scores.parquet")).0;
    let mut levels = std::collections::BTreeMap::new();
    for b in &scores {
        use arrow_array::cast::AsArray;
        let level = b.column_by_name("level").unwrap().as_string::<i32>();
        for i in 0..b.num_rows() {
            *levels.entry(level.value(i).to_string()).or_insert(0) += 1;
        }
        for c in ["sha256", "source", "manipulated", "score"] {
            assert!(b.column_by_name(c).is_some(), "{c}");
        }
    }
    assert_eq!(levels.get("video"), Some(&10), "{levels:?}");
    assert!(levels.get("frame").is_some_and(|n| *n > 40), "{levels:?}");
    // Each face row's score joins its `frames` row by (sha256, frame_index, face_index), with
    // the same track; a video's row has no place.
    let frames = read_table(&scored, "frames");
    let place = |r: &Row| {
        (
            r["sha256"].str().map(str::to_string),
            r["frame_index"].u64(),
            r["face_index"].u64(),
        )
    };
    let tracks: std::collections::HashMap<_, _> = frames
        .iter()
        .filter(|r| !r["face_index"].is_null())
        .map(|r| (place(r), r["track_id"].u64()))
        .collect();
    for r in read_rows(&scored.join("eval/scores.parquet")) {
        if r["level"].str() == Some("video") {
            assert!(
                r["frame_index"].is_null() && r["track_id"].is_null(),
                "{r:?}"
            );
        } else {
            let track = tracks.get(&place(&r));
            assert!(track.is_some_and(|t| t.is_some()), "{r:?}");
            assert_eq!(track, Some(&r["track_id"].u64()), "{r:?}");
        }
    }
    let metrics = read_part(&scored.join("eval/metrics.parquet")).0;
    let n: usize = metrics.iter().map(|b| b.num_rows()).sum();
    assert!(n >= 4, "{n}");
    // Each AUC has an interval from resampling the sources (the synth's two real clips).
    // With two sources half of the resamples draw both, which is the set itself, so the
    // interval holds the AUC.
    for b in &metrics {
        use arrow_array::Array as _;
        use arrow_array::cast::AsArray;
        use arrow_array::types::Float64Type;
        let col = |c: &str| b.column_by_name(c).unwrap().as_primitive::<Float64Type>();
        let (auc, low, high, sources) =
            (col("auc"), col("auc_low"), col("auc_high"), col("sources"));
        assert!(b.column_by_name("auc_within_source").is_some());
        let tpr = col("tpr_at_fpr_1pct");
        for i in 0..b.num_rows() {
            assert!(sources.value(i) >= 2.0, "{}", sources.value(i));
            // The detection rate at a 1 % false-alarm cap is a rate, and an AUC of 1 means
            // every forged item is above every real one.
            if tpr.is_valid(i) {
                let t = tpr.value(i);
                assert!((0.0..=1.0).contains(&t), "{t}");
                if auc.is_valid(i) && auc.value(i) == 1.0 {
                    assert_eq!(t, 1.0);
                }
            }
            if auc.is_valid(i) && low.is_valid(i) {
                let (a, lo, hi) = (auc.value(i), low.value(i), high.value(i));
                assert!(lo <= a + 1e-9 && a <= hi + 1e-9, "{lo} {a} {hi}");
            }
        }
    }
    let svg = std::fs::read_to_string(scored.join("eval/roc.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("AUC"));

    // A model of crops only (the convolutional trunk with a mask head drawing the ground-truth
    // masks, with fresh real/self-blended pairs every epoch), used by a scan; `eval --rescore`
    // cuts the crops again from the clips, and its metrics equal those of the scan's own
    // scores: the crops of `train`/`eval` are the scan's.
    let cnn = tmp.path().join("cnn");
    train(&cnn, CNN);
    // Same data and seed: the same weights, with the trunk, mirroring and fresh forgeries too.
    let cnn2 = tmp.path().join("cnn2");
    train(&cnn2, CNN);
    assert_eq!(
        sha256sum(&cnn2.join("classifier.safetensors")),
        sha256sum(&cnn.join("classifier.safetensors"))
    );
    let cnn_json = cnn.join("classifier.json");
    let cnn_card: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cnn_json).unwrap()).unwrap();
    assert_eq!(cnn_card["name"], "seamscan-cnn-1");
    assert_eq!(cnn_card["crop_size"], 32);
    assert_eq!(cnn_card["features"].as_array().map(Vec::len), Some(0));
    assert_eq!(cnn_card["members"], 2);
    assert_eq!(cnn_card["mask_head"], true);
    assert!(
        cnn_card["training"]["validation_mask_head"]["frame_auc"].is_number(),
        "{}",
        cnn_card["training"]
    );
    assert_eq!(
        cnn_card["training"]["folds"].as_array().map(Vec::len),
        Some(2)
    );
    let cnn_scored = tmp.path().join("cnn-scored");
    seamscan_ok(args!(
        "scan",
        syn.join("clips"),
        "-o",
        cnn_scored,
        "--model",
        cnn_json,
        "--score",
        "classifier"
    ));
    let frames = read_table(&cnn_scored, "frames");
    let mut scored_faces = 0;
    for r in &frames {
        if r["det_score"].f64().is_none() {
            continue;
        }
        scored_faces += 1;
        assert!((0.0..=1.0).contains(&r["score"].f64().unwrap()));
        if let Value::List(reasons) = &r["reasons"] {
            for reason in reasons {
                assert!(reason.str().unwrap().starts_with("crop["), "{reason:?}");
            }
        }
    }
    assert!(scored_faces > 40, "{scored_faces}");
    // The `all` lines of `eval` of the dataset `scored` with the model `json`.
    let eval_lines = |scored: &Path, json: &Path, extra: &[&str], dir: &str| -> String {
        let report = tmp.path().join(dir);
        let mut a = args!(
            "eval", "--labels", labels, scored, "--model", json, "--report", report
        )
        .to_vec();
        a.extend(extra.iter().map(std::ffi::OsStr::new));
        let out = String::from_utf8_lossy(&seamscan_ok(&a).stdout).into_owned();
        out.lines()
            .filter(|l| l.starts_with("frame  all") || l.starts_with("video  all"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let metrics_line = |extra: &[&str], dir: &str| eval_lines(&cnn_scored, &cnn_json, extra, dir);
    let stored = metrics_line(&[], "eval-stored");
    assert!(stored.contains("frame  all"), "{stored}");
    assert_eq!(metrics_line(&["--rescore"], "eval-rescored"), stored);
    // Against a baseline model: its AUC and the gain, paired. Against itself the gain is 0
    // in every resample; against the features-only MLP (other inputs, other rows' crops)
    // each line says both AUCs.
    let own = model_json.to_str().unwrap();
    let itself = metrics_line(
        &["--rescore", "--baseline", cnn_json.to_str().unwrap()],
        "eval-itself",
    );
    for line in itself.lines() {
        assert!(line.contains("gain +0.000 [+0.000, +0.000]"), "{itself}");
        assert!(
            line.contains("TPR@1% baseline") && line.matches("gain +0.000").count() == 2,
            "{itself}"
        );
    }
    let versus = metrics_line(&["--rescore", "--baseline", own], "eval-versus");
    assert_eq!(
        versus.lines().filter(|l| l.contains("baseline 0.")).count(),
        2,
        "{versus}"
    );
    let m = read_part(&tmp.path().join("eval-versus/metrics.parquet")).0;
    for c in [
        "auc_baseline",
        "auc_gain_low",
        "auc_gain_high",
        "tpr_at_fpr_1pct_baseline",
        "tpr_at_fpr_1pct_gain_low",
        "tpr_at_fpr_1pct_gain_high",
    ] {
        assert!(m[0].column_by_name(c).is_some(), "{c}");
    }
    let sc = read_part(&tmp.path().join("eval-versus/scores.parquet")).0;
    assert!(sc[0].column_by_name("baseline_score").is_some());
    // Out of fold, each training row scored by the member that never trained on its source,
    // the ensemble's AUC on its own training rows is its card's validation AUC; a model
    // trained without folds is a usage error.
    let oof = tmp.path().join("eval-oof");
    seamscan_ok(args!(
        "eval",
        "--labels",
        labels,
        feats,
        "--model",
        cnn_json,
        "--report",
        oof,
        "--rescore",
        "--out-of-fold"
    ));
    let all = read_rows(&oof.join("metrics.parquet"));
    let frame_all = all
        .iter()
        .find(|r| r["level"].str() == Some("frame") && r["subset"].str() == Some("all"))
        .unwrap();
    let want = cnn_card["training"]["validation"]["frame_auc"]
        .as_f64()
        .unwrap();
    assert!(
        (frame_all["auc"].f64().unwrap() - want).abs() < 1e-9,
        "{frame_all:?} {want}"
    );
    let r = seamscan(args!(
        "eval",
        "--labels",
        labels,
        feats,
        "--model",
        model_json,
        "--rescore",
        "--out-of-fold"
    ));
    assert_eq!(
        r.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    // Rescored face rows keep their place in `frames` too.
    for r in read_rows(&tmp.path().join("eval-versus/scores.parquet")) {
        let face = r["level"].str() == Some("frame");
        assert_eq!(!r["frame_index"].is_null(), face, "{r:?}");
        assert_eq!(!r["face_index"].is_null(), face, "{r:?}");
    }
    // A baseline needs --rescore: a usage error before anything is read.
    let r = seamscan(args!(
        "eval",
        "--labels",
        labels,
        cnn_scored,
        "--baseline",
        cnn_json
    ));
    assert_eq!(
        r.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );

    // A model whose crop input has the context channel (`--context`: a wider crop's residual
    // energy), with features, used by a scan; `eval --rescore` cuts both crops again and gives
    // the scan's own metrics. Against the crops-only model as baseline, the rows are cut
    // again for each.
    let ctx = tmp.path().join("ctx");
    train(
        &ctx,
        &[
            "--epochs",
            "2",
            "--crop-size",
            "32",
            "--conv",
            "8,16",
            "--context",
            "--validation-source",
            "carphone_pristine",
        ],
    );
    let ctx_json = ctx.join("classifier.json");
    let ctx_card: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&ctx_json).unwrap()).unwrap();
    assert_eq!(ctx_card["context"], true);
    assert_eq!(cnn_card.get("context"), None);
    let ctx_scored = tmp.path().join("ctx-scored");
    seamscan_ok(args!(
        "scan",
        syn.join("clips"),
        "-o",
        ctx_scored,
        "--model",
        ctx_json,
        "--score",
        "classifier"
    ));
    let ctx_metrics = |extra: &[&str], dir: &str| eval_lines(&ctx_scored, &ctx_json, extra, dir);
    let ctx_stored = ctx_metrics(&[], "ctx-stored");
    assert!(ctx_stored.contains("frame  all"), "{ctx_stored}");
    assert_eq!(ctx_metrics(&["--rescore"], "ctx-rescored"), ctx_stored);
    // Level, subset, rows, positives, sources and AUC: the model's own figures stay.
    let head = |text: &str| -> Vec<String> {
        text.lines()
            .map(|l| l.split_whitespace().take(6).collect::<Vec<_>>().join(" "))
            .collect()
    };
    let cnn_base = cnn_json.to_str().unwrap();
    let ctx_versus = ctx_metrics(&["--rescore", "--baseline", cnn_base], "ctx-versus");
    assert_eq!(head(&ctx_versus), head(&ctx_stored), "{ctx_versus}");
    // Each line names the baseline's AUC and its detection rate at a 1 % false-alarm cap.
    assert_eq!(ctx_versus.matches(", gain ").count(), 4, "{ctx_versus}");
    assert_eq!(
        ctx_versus.matches("TPR@1% baseline").count(),
        2,
        "{ctx_versus}"
    );
}

/// Mean over a clip's decoded pixels of the spread between its largest and smallest channel
/// (0 for black and white).
fn mean_channel_spread(clip: &Path) -> f64 {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(clip)
        .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{clip:?}");
    let px = out.stdout.chunks_exact(3);
    let n = px.len().max(1) as f64;
    px.map(|p| f64::from(p.iter().max().unwrap() - p.iter().min().unwrap()))
        .sum::<f64>()
        / n
}

#[test]
fn synth_keep_grey_makes_the_forgeries_of_a_black_and_white_clip_black_and_white() {
    let s = samples();
    let tmp = tempfile::tempdir().unwrap();
    let grey = tmp.path().join("grey.mp4");
    run_ok(
        Command::new("ffmpeg")
            .args(["-nostdin", "-v", "error", "-y", "-i"])
            .arg(s.join("single_face.mp4"))
            .args(["-frames:v", "12", "-vf", "format=gray,format=yuv420p"])
            .args(["-c:v", "libx264", "-preset", "ultrafast"])
            .arg(&grey),
    );
    let colour = s.join("carphone_pristine.mp4");
    let synth = |dir: &Path, extra: &[&str]| {
        let mut argv = args!(
            "synth",
            grey,
            colour,
            "-o",
            dir,
            "--seed",
            "7",
            "--max-frames",
            "4",
            "--self-blends",
            "2",
            "--swaps",
            "1",
            "--crf",
            "20"
        )
        .to_vec();
        argv.extend(extra.iter().map(std::ffi::OsStr::new));
        seamscan_ok(&argv);
        // clip, sha256, method, source, detail
        std::fs::read_to_string(dir.join("labels.csv"))
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| {
                let f: Vec<String> = l.split(',').map(String::from).collect();
                [0, 1, 3, 4, 10].map(|i| f[i].clone())
            })
            .collect::<Vec<_>>()
    };
    let (plain_dir, kept_dir) = (tmp.path().join("plain"), tmp.path().join("kept"));
    let plain = synth(&plain_dir, &[]);
    let kept = synth(&kept_dir, &["--keep-grey"]);
    assert_eq!(plain.len(), kept.len());
    let mut grey_forgeries = 0;
    let mut coloured_before = 0;
    for (p, k) in plain.iter().zip(&kept) {
        assert_eq!(p[0], k[0], "the same clips in the same order");
        if p[2] == "real" || p[3] != "grey" {
            // Real clips and forgeries of the colour clip: the same bytes, the same label.
            assert_eq!(p, k);
            continue;
        }
        grey_forgeries += 1;
        assert_eq!(k[4], format!("{}; kept grey", p[4]), "{}", k[0]);
        let spread = mean_channel_spread(&kept_dir.join(&k[0]));
        let before = mean_channel_spread(&plain_dir.join(&p[0]));
        assert!(spread < 0.1, "{}: spread {spread}", k[0]);
        if before > 0.5 {
            coloured_before += 1;
        }
    }
    // Two self-blends and a swap of the grey clip (its donor the colour one).
    assert_eq!(grey_forgeries, 3);
    assert!(
        coloured_before > 0,
        "without --keep-grey some forgery brings in colour"
    );
    // The input decodes with equal channels (measured: 0), and so does each kept forgery
    // (0 against 0.75-1.6 without the option).
    assert!(mean_channel_spread(&grey) < 0.1);
}

#[test]
fn synth_refuses_an_input_without_a_face_and_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let noface = h264_clip(tmp.path(), "pattern.mp4", 1);
    let face = samples().join("carphone_pristine.mp4");
    let out = tmp.path().join("syn");
    let r = seamscan(args!(
        "synth",
        noface,
        face,
        "-o",
        out,
        "--max-frames",
        "4",
        "--self-blends",
        "1",
        "--swaps",
        "0",
        "--crf",
        "28"
    ));
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        err.contains("pattern.mp4") && err.contains("no face"),
        "{err}"
    );
    assert_eq!(labels_by_clip(&out.join("labels.csv")).len(), 2);
    // Nothing usable at all: a usage error.
    let r = seamscan(args!("synth", noface, "-o", tmp.path().join("none")));
    assert_eq!(r.status.code(), Some(2));
}

#[test]
fn a_face_glimpsed_in_one_frame_makes_a_video_at_most_suspicious() {
    // Big Buck Bunny's rabbit is taken for a face in frame 18 only; with every threshold at
    // zero its row is `manipulated`, and so would the video be without the glimpse rule.
    let s = samples();
    let tmp = tempfile::tempdir().unwrap();
    let model = flag_everything_model(tmp.path());
    let bunny = s.join("bigbuckbunny.mp4");
    let scan = |name: &str, preset: &str| {
        let toml = tmp.path().join(format!("{name}.toml"));
        std::fs::write(&toml, preset).unwrap();
        let out = tmp.path().join(name);
        seamscan_ok(args!(
            "scan",
            bunny,
            "-o",
            out,
            "--max-frames",
            "24",
            "--device",
            "cpu",
            "--model",
            model,
            "--score",
            "classifier",
            "--pipeline",
            toml
        ));
        let videos = read_table(&out, "videos");
        let frames = read_table(&out, "frames");
        let v = video(&videos, &bunny).clone();
        let faces: Vec<(u64, bool, String)> = rows_of(&frames, &bunny)
            .iter()
            .filter(|r| !r["face_index"].is_null())
            .map(|r| {
                (
                    r["frame_index"].u64().unwrap(),
                    r["face_detected"] == Value::Bool(true),
                    r["verdict"].str().unwrap().to_string(),
                )
            })
            .collect();
        (out, v, faces)
    };
    let (out, v, faces) = scan("default", "");
    assert_eq!(faces, vec![(18, true, "manipulated".to_string())]);
    assert_eq!(v["frames_with_face"].u64(), Some(1));
    assert!(v["score"].f64().is_some());
    assert_eq!(v["verdict"].str(), Some("suspicious"), "{v:?}");
    // The report says why the verdict is below the score's.
    let report = tmp.path().join("report");
    seamscan_ok(args!("report", out, "-o", report, "--model", model));
    let html = std::fs::read_to_string(report.join("index.html")).unwrap();
    assert!(html.contains("faces in 1 of 24 analysed frames · at most suspicious"));
    // With the rule off, the same face makes the video manipulated.
    let (_, v, _) = scan("off", "[model]\nmin_face_frames = 0\n");
    assert_eq!(v["verdict"].str(), Some("manipulated"), "{v:?}");
    // A box carried between detections is no second sighting: with the detector on every
    // 3rd frame, the rabbit's box fills frames 18-20 and the video is still capped.
    let (_, v, faces) = scan("every3", "[faces]\ndetect_every = 3\n");
    assert_eq!(
        faces.iter().map(|f| (f.0, f.1)).collect::<Vec<_>>(),
        vec![(18, true), (19, false), (20, false)]
    );
    assert_eq!(v["verdict"].str(), Some("suspicious"), "{v:?}");
}

/// The stacked score's card, as the test reads it.
fn stack_card() -> serde_json::Value {
    let text = std::fs::read_to_string(repo().join("models/stack.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// `card`'s stacked score of a face with classifier score `p` and appearance logit `a`.
fn stacked_score(card: &serde_json::Value, p: f64, a: f64) -> f64 {
    let w = |k: &str| card[k].as_f64().unwrap();
    let p = p.clamp(1e-6, 1.0 - 1e-6);
    let z = w("classifier_weight") * (p / (1.0 - p)).ln() + w("appearance_weight") * a + w("bias");
    1.0 / (1.0 + (-z).exp())
}

/// The verdict of `score` between the thresholds `suspicious` and `manipulated`.
fn band(
    score: f64,
    suspicious: &serde_json::Value,
    manipulated: &serde_json::Value,
) -> &'static str {
    if score >= manipulated.as_f64().unwrap() {
        "manipulated"
    } else if score >= suspicious.as_f64().unwrap() {
        "suspicious"
    } else {
        "authentic"
    }
}

#[test]
fn a_stacked_scan_and_a_stacked_rescore_combine_the_two_networks_as_the_card_says() {
    let s = samples();
    let tmp = tempfile::tempdir().unwrap();
    // The stack flags face_noface.mov's frame 6 (`suspicious`), so reasons are checked.
    let (a, b) = (s.join("face_noface.mov"), s.join("carphone_pristine.mp4"));
    let scan = |name: &str, extra: &[&str]| {
        let out = tmp.path().join(name);
        let mut argv = args!(
            "scan",
            a,
            b,
            "-o",
            out,
            "--max-frames",
            "8",
            "--device",
            "cpu"
        )
        .to_vec();
        argv.extend(extra.iter().map(std::ffi::OsStr::new));
        seamscan_ok(&argv);
        out
    };
    let plain = scan("plain", &["--score", "classifier"]);
    let stacked = scan("stacked", &[]);
    let card = stack_card();
    let t = &card["thresholds"];
    let key = |r: &Row| {
        (
            r["path"].str().unwrap().to_string(),
            r["frame_index"].u64(),
            r["face_index"].u64(),
        )
    };
    let plain_rows: std::collections::HashMap<_, _> = read_table(&plain, "frames")
        .into_iter()
        .map(|r| (key(&r), r))
        .collect();
    let all = read_table(&stacked, "frames");
    assert_eq!(all.len(), plain_rows.len());
    let rows: Vec<Row> = all
        .into_iter()
        .filter(|r| r["face_index"].u64().is_some())
        .collect();
    assert!(rows.len() >= 6, "faces in both clips");
    let mut flagged = 0;
    for r in &rows {
        let p = &plain_rows[&key(r)];
        let logit = r["appearance_logit"]
            .f64()
            .expect("the appearance network ran");
        assert_eq!(p["appearance_logit"].f64(), Some(logit));
        let want = stacked_score(&card, p["score"].f64().unwrap(), logit);
        let got = r["score"].f64().unwrap();
        assert!((got - want).abs() < 1e-12, "{got} vs {want}: {r:?}");
        let v = r["verdict"].str().unwrap();
        assert_eq!(
            v,
            band(got, &t["frame_suspicious"], &t["frame_manipulated"]),
            "{got}"
        );
        if v != "authentic" {
            flagged += 1;
            let Value::List(reasons) = &r["reasons"] else {
                panic!("flagged row without reasons: {r:?}")
            };
            assert!(!reasons.is_empty() && reasons.len() <= 3, "{reasons:?}");
        }
    }
    // The stack's video score is the mean of the top quarter of its face scores.
    let videos = read_table(&stacked, "videos");
    for clip in [&a, &b] {
        let mut scores: Vec<f64> = rows_of(&rows, clip)
            .iter()
            .map(|r| r["score"].f64().unwrap())
            .collect();
        scores.sort_by(|x, y| y.total_cmp(x));
        let k = scores.len().div_ceil(4);
        let top = scores[..k].iter().sum::<f64>() / k as f64;
        let v = video(&videos, clip);
        let got = v["score"].f64().unwrap();
        assert!((got - top).abs() < 1e-9, "{got} vs {top}");
        // By the stack's video thresholds (both clips have a face in every frame: no cap).
        let expected = band(got, &t["video_suspicious"], &t["video_manipulated"]);
        assert_eq!(v["verdict"].str(), Some(expected), "{got}");
    }
    assert!(
        flagged > 0,
        "some stacked face of these clips is flagged, so reasons are checked"
    );
    let runs = read_table(&plain, "runs");
    assert_eq!(runs[0]["model"].str(), Some("seamscan-cnn-1"));
    assert_eq!(
        runs[0]["model_sha256"].str(),
        Some(shipped_weights_sha256().as_str())
    );
    let runs = read_table(&stacked, "runs");
    assert_eq!(runs[0]["model"].str(), Some("seamscan-stack-2"));
    assert_eq!(
        runs[0]["model_sha256"].str(),
        Some(sha256sum(&repo().join("models/stack.json")).as_str())
    );
    assert!(
        runs[0]["config_toml"]
            .str()
            .unwrap()
            .contains("score = \"stacked\"")
    );
    eprintln!("{flagged} of {} stacked face rows flagged", rows.len());
    // The report draws the stack's face thresholds on the score plots, not the classifier's.
    let html_dir = tmp.path().join("report");
    seamscan_ok(args!("report", stacked, "-o", html_dir));
    let html = std::fs::read_to_string(html_dir.join("index.html")).unwrap();
    let drawn = |v: f64| format!("manipulated {v:.2}</text>");
    assert!(html.contains(&drawn(t["frame_manipulated"].as_f64().unwrap())));
    let classifier_card: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("models/classifier.json")).unwrap(),
    )
    .unwrap();
    let theirs = classifier_card["thresholds"]["frame_manipulated"]
        .as_f64()
        .unwrap();
    assert!(!html.contains(&drawn(theirs)));

    // `eval --rescore --score stacked` on the classifier's scan gives the stacked scan's
    // scores, and the classifier as a baseline gives the plain scan's.
    let labels = tmp.path().join("labels.csv");
    std::fs::write(
        &labels,
        format!(
            "sha256,label\n{},real\n{},fake\n",
            sha256sum(&a),
            sha256sum(&b)
        ),
    )
    .unwrap();
    let report = tmp.path().join("eval");
    let classifier = repo().join("models/classifier.json");
    seamscan_ok(args!(
        "eval",
        "--labels",
        labels,
        plain,
        "--rescore",
        "--score",
        "stacked",
        "--baseline",
        classifier,
        "--report",
        report,
        "--bootstrap",
        "0"
    ));
    let by_place: std::collections::HashMap<_, _> = rows
        .iter()
        .map(|r| {
            (
                (
                    r["sha256"].str().unwrap().to_string(),
                    r["frame_index"].u64(),
                    r["face_index"].u64(),
                ),
                r,
            )
        })
        .collect();
    let mut compared = 0;
    for e in read_rows(&report.join("scores.parquet")) {
        if e["level"].str() != Some("frame") {
            continue;
        }
        let place = (
            e["sha256"].str().unwrap().to_string(),
            e["frame_index"].u64(),
            e["face_index"].u64(),
        );
        let scanned = by_place[&place];
        let (got, want) = (e["score"].f64().unwrap(), scanned["score"].f64().unwrap());
        assert!(
            (got - want).abs() < 1e-9,
            "rescored {got} vs scanned {want}"
        );
        let base = plain_rows[&key(scanned)]["score"].f64().unwrap();
        assert!((e["baseline_score"].f64().unwrap() - base).abs() < 1e-9);
        compared += 1;
    }
    assert_eq!(compared, rows.len());
    // Its video scores are the stacked scan's too.
    for e in read_rows(&report.join("scores.parquet")) {
        if e["level"].str() == Some("video") {
            let sha = e["sha256"].str().unwrap();
            let scanned = videos
                .iter()
                .find(|v| v["sha256"].str() == Some(sha))
                .unwrap();
            let (got, want) = (e["score"].f64().unwrap(), scanned["score"].f64().unwrap());
            assert!(
                (got - want).abs() < 1e-9,
                "video: rescored {got} vs scanned {want}"
            );
        }
    }
    // Without --rescore, eval judges stored scores only by their own kind's thresholds; by
    // default, by the kind that scored them.
    let stored = |dataset: &Path, extra: &[&str]| {
        let mut argv = args!("eval", "--labels", labels, dataset, "--bootstrap", "0").to_vec();
        argv.extend(extra.iter().map(std::ffi::OsStr::new));
        seamscan(&argv)
    };
    for (dataset, extra, ok) in [
        (&stacked, &["--score", "stacked"][..], true),
        (&stacked, &[][..], true),
        (&stacked, &["--score", "classifier"][..], false),
        (&plain, &["--score", "stacked"][..], false),
        (&plain, &[][..], true),
    ] {
        let r = stored(dataset, extra);
        let code = if ok { 0 } else { 2 };
        assert_eq!(
            r.status.code(),
            Some(code),
            "{} {extra:?}: {r:?}",
            dataset.display()
        );
    }
}

#[test]
fn a_stacked_score_without_the_appearance_network_is_a_usage_error() {
    // The default score is the stack's: turning the appearance network off alone is refused,
    // with the way out named.
    let tmp = tempfile::tempdir().unwrap();
    let preset = tmp.path().join("p.toml");
    std::fs::write(&preset, "[model]\nappearance = false\n").unwrap();
    let out = tmp.path().join("out");
    let r = seamscan(args!(
        "scan",
        samples().join("single_face.mp4"),
        "-o",
        out,
        "--pipeline",
        preset
    ));
    assert_eq!(r.status.code(), Some(2), "{r:?}");
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("needs model.appearance = true"), "{err}");
    assert!(err.contains("model.score = \"classifier\""), "{err}");
    assert!(!out.join("frames").exists(), "nothing was scanned");
}
