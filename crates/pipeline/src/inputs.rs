//! Turning command-line paths and manifests into the list of files to scan.
//!
//! Files named explicitly (on the command line or in a manifest) are always scanned and always
//! get a `videos` row, even when missing. Directories are walked recursively in name order,
//! following symbolic links (loops are detected and reported, never followed forever); a file
//! found in a directory is scanned when its content probes as a media container (not a still
//! image) or its extension is a video extension, so a corrupt `.mp4` is reported rather than
//! silently dropped, while `notes.txt` is skipped.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Extensions that make a directory entry a candidate even if its content does not probe.
const VIDEO_EXTENSIONS: &[&str] = &[
    "3g2", "3gp", "asf", "avi", "dv", "f4v", "flv", "h264", "h265", "hevc", "m2t", "m2ts", "m4v",
    "mkv", "mov", "mp4", "mpeg", "mpg", "mts", "mxf", "ogv", "qt", "rm", "ts", "vob", "webm",
    "wmv", "y4m",
];

/// One file to scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    /// The path as given or as found under a directory.
    pub path: PathBuf,
}

/// The planned inputs of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InputPlan {
    /// Files to scan, in a deterministic order (arguments first, directories in name order).
    pub files: Vec<InputFile>,
    /// Directory entries skipped because they are not video by content or extension.
    pub skipped: u64,
    /// Problems met while walking (loops, unreadable directories), one line each.
    pub warnings: Vec<String>,
}

/// One shard of a run split over N processes (`--shard I/N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard, `0..count`.
    pub index: u32,
    /// Number of shards.
    pub count: u32,
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| format!("shard {s:?}: expected I/N, e.g. 0/4"))?;
        let index: u32 = i
            .trim()
            .parse()
            .map_err(|_| format!("shard {s:?}: I is not a number"))?;
        let count: u32 = n
            .trim()
            .parse()
            .map_err(|_| format!("shard {s:?}: N is not a number"))?;
        if count == 0 || index >= count {
            return Err(format!("shard {s:?}: need 0 <= I < N"));
        }
        Ok(Shard { index, count })
    }
}

/// The shard of a file among `count`: the first 8 bytes of the SHA-256 of its path bytes,
/// modulo `count`. It depends on the path alone, so every machine agrees, and a file keeps its
/// shard while the evidence folder grows.
pub fn shard_of(path: &Path, count: u32) -> u32 {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(path.as_os_str().as_bytes());
    let head = u64::from_be_bytes(d[..8].try_into().expect("a SHA-256 has 32 bytes"));
    (head % count.max(1) as u64) as u32
}

impl InputPlan {
    /// Keeps only the files of `shard`.
    pub fn retain_shard(&mut self, shard: Shard) {
        self.files
            .retain(|f| shard_of(&f.path, shard.count) == shard.index);
    }

    /// The manifest rows of this plan split into `shards`, sorted by path bytes.
    pub fn manifest(&self, shards: u32) -> Vec<seamscan_sink::ManifestRow> {
        let mut rows: Vec<seamscan_sink::ManifestRow> = self
            .files
            .iter()
            .map(|f| seamscan_sink::ManifestRow {
                path: f.path.to_string_lossy().into_owned(),
                path_bytes: f.path.as_os_str().as_bytes().to_vec(),
                size_bytes: std::fs::metadata(&f.path).ok().map(|m| m.len()),
                shard: shard_of(&f.path, shards),
                shards,
            })
            .collect();
        rows.sort_by(|a, b| a.path_bytes.cmp(&b.path_bytes));
        rows
    }
}

/// The paths listed in a manifest: a Parquet manifest from `seamscan plan` (then also its
/// shard count), or a text file with one path per line.
pub fn load_manifest(path: &Path) -> std::io::Result<(Vec<PathBuf>, Option<u32>)> {
    if seamscan_sink::is_parquet(path) {
        let rows = seamscan_sink::read_manifest(path).map_err(std::io::Error::other)?;
        let shards = rows.first().map(|r| r.shards);
        let paths = rows
            .into_iter()
            .map(|r| PathBuf::from(OsStr::from_bytes(&r.path_bytes)))
            .collect();
        return Ok((paths, shards));
    }
    Ok((read_manifest(path)?, None))
}

/// Reads a manifest: one path per line; blank lines and lines starting with `#` are ignored.
/// Lines are raw bytes, so paths that are not UTF-8 work.
pub fn read_manifest(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    let bytes = std::fs::read(path)?;
    Ok(bytes
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.is_empty() && !l.starts_with(b"#"))
        .map(|l| PathBuf::from(OsStr::from_bytes(l)))
        .collect())
}

fn has_video_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| VIDEO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Whether a file found inside a directory should be scanned.
fn is_candidate(path: &Path) -> bool {
    if has_video_extension(path) {
        return true;
    }
    seamscan_decode::sniff(path).is_some_and(|f| !seamscan_decode::is_image_format(&f))
}

/// Expands `paths` (files and directories) into the files to scan.
pub fn plan_inputs(paths: &[PathBuf]) -> InputPlan {
    let mut plan = InputPlan::default();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut plan);
        } else {
            // Explicit files are always reported, even if missing or not video.
            plan.files.push(InputFile { path: p.clone() });
        }
    }
    plan
}

fn walk(root: &Path, plan: &mut InputPlan) {
    let walker = walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name();
    for entry in walker {
        match entry {
            Ok(e) => {
                if !e.file_type().is_file() {
                    continue;
                }
                if is_candidate(e.path()) {
                    plan.files.push(InputFile {
                        path: e.into_path(),
                    });
                } else {
                    plan.skipped += 1;
                    tracing::debug!(path = %e.path().display(), "skipped: not video by content or extension");
                }
            }
            Err(err) => {
                let what = if err.loop_ancestor().is_some() {
                    "symbolic link loop, not followed".to_string()
                } else {
                    err.io_error()
                        .map_or_else(|| err.to_string(), |e| e.to_string())
                };
                let at = err
                    .path()
                    .map_or_else(|| root.display().to_string(), |p| p.display().to_string());
                plan.warnings.push(format!("{at}: {what}"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("seamscan-inputs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn walks_in_order_skips_text_keeps_video_names_and_survives_loops() {
        let d = scratch("walk");
        std::fs::create_dir_all(d.join("b/sub")).unwrap();
        std::fs::write(d.join("b/sub/z.mp4"), b"not really").unwrap();
        std::fs::write(d.join("a.MOV"), b"").unwrap();
        std::fs::write(d.join("notes.txt"), b"hello").unwrap();
        std::os::unix::fs::symlink(&d, d.join("b/sub/loop")).unwrap();
        let plan = plan_inputs(std::slice::from_ref(&d));
        let names: Vec<_> = plan
            .files
            .iter()
            .map(|f| f.path.strip_prefix(&d).unwrap().to_path_buf())
            .collect();
        assert_eq!(
            names,
            vec![PathBuf::from("a.MOV"), PathBuf::from("b/sub/z.mp4")]
        );
        assert_eq!(plan.skipped, 1);
        assert_eq!(plan.warnings.len(), 1, "{:?}", plan.warnings);
        assert!(plan.warnings[0].contains("loop"));
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn shards_partition_the_inputs_and_parse() {
        let paths: Vec<PathBuf> = (0..400)
            .map(|i| PathBuf::from(format!("/evidence/{i}.mp4")))
            .collect();
        let mut seen = vec![0; 4];
        for p in &paths {
            let s = shard_of(p, 4);
            assert_eq!(s, shard_of(p, 4));
            seen[s as usize] += 1;
        }
        assert!(seen.iter().all(|&n| n > 60), "{seen:?}");
        assert_eq!("2/4".parse::<Shard>(), Ok(Shard { index: 2, count: 4 }));
        assert!("4/4".parse::<Shard>().is_err());
        assert!("x".parse::<Shard>().is_err());
    }

    #[test]
    fn manifests_take_raw_bytes_and_skip_comments() {
        let d = scratch("manifest");
        let m = d.join("list.txt");
        std::fs::write(&m, b"# evidence\n/a/b.mp4\r\n\n/c/\xff.mp4\n").unwrap();
        let paths = read_manifest(&m).unwrap();
        assert_eq!(paths.len(), 2);
        assert_eq!(paths[1].as_os_str().as_bytes(), b"/c/\xff.mp4");
        std::fs::remove_dir_all(d).unwrap();
    }
}
