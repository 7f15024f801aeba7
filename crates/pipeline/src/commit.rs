//! The writer's commit groups: rows are written into the current group; every
//! `commit_seconds` a new group starts, and a group is committed (its `frames` parts renamed
//! into place, then its `videos` part, the commit marker) once every file that wrote into it
//! is finished. A file's rows all go to one group, so a committed group holds only whole
//! files, and a killed run loses at most its uncommitted groups, which the next run redoes.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use seamscan_sink::{Dataset, FrameRow, PartWriter, SinkError, Table, VideoRow};

use crate::config::RunConfig;

struct Group {
    frames: PartWriter<FrameRow>,
    videos: PartWriter<VideoRow>,
    open: HashSet<u64>,
    started: Instant,
    rows: u64,
    frame_rows: u64,
}

/// Commit groups of one run.
pub(crate) struct Groups<'a> {
    dataset: &'a Dataset,
    run_id: &'a str,
    config: &'a RunConfig,
    every: Duration,
    next_id: u32,
    /// Sealed groups waiting for their files, oldest first, then the current group.
    groups: VecDeque<(u32, Group)>,
    file_group: HashMap<u64, u32>,
    parts: Vec<PathBuf>,
    committed_rows: u64,
    committed_frames: u64,
}

impl<'a> Groups<'a> {
    pub(crate) fn new(dataset: &'a Dataset, run_id: &'a str, config: &'a RunConfig) -> Self {
        let mut g = Groups {
            dataset,
            run_id,
            config,
            every: Duration::from_secs_f64(config.commit_seconds.max(0.0)),
            next_id: 0,
            groups: VecDeque::new(),
            file_group: HashMap::new(),
            parts: Vec::new(),
            committed_rows: 0,
            committed_frames: 0,
        };
        g.open_group();
        g
    }

    fn open_group(&mut self) {
        let id = self.next_id;
        self.next_id += 1;
        let group = Group {
            frames: self.dataset.writer(
                Table::Frames,
                self.run_id,
                id,
                self.config.frame_batch_rows,
                self.config.rows_per_part,
            ),
            videos: self.dataset.writer(
                Table::Videos,
                self.run_id,
                id,
                256,
                self.config.rows_per_part,
            ),
            open: HashSet::new(),
            started: Instant::now(),
            rows: 0,
            frame_rows: 0,
        };
        self.groups.push_back((id, group));
    }

    fn group_of(&mut self, file: u64) -> &mut Group {
        let current = self
            .groups
            .back()
            .expect("there is always a current group")
            .0;
        let id = *self.file_group.entry(file).or_insert(current);
        &mut self
            .groups
            .iter_mut()
            .find(|(g, _)| *g == id)
            .expect("a file's group stays until the file is finished")
            .1
    }

    /// A frame row of `file`.
    pub(crate) fn frame(&mut self, file: u64, row: FrameRow) -> Result<(), SinkError> {
        let g = self.group_of(file);
        g.open.insert(file);
        g.rows += 1;
        // One frame may have several rows (one per face): count frames, not rows.
        if row.face.as_ref().is_none_or(|f| f.face_index == 0) {
            g.frame_rows += 1;
        }
        g.frames.push(row)?;
        self.rotate()
    }

    /// The row of a finished `file`; commits what can be committed.
    pub(crate) fn video(&mut self, file: u64, row: VideoRow) -> Result<(), SinkError> {
        let g = self.group_of(file);
        g.open.remove(&file);
        g.rows += 1;
        g.videos.push(row)?;
        self.file_group.remove(&file);
        self.rotate()?;
        self.commit_ready(false)
    }

    /// Starts a new current group when the current one is old enough.
    fn rotate(&mut self) -> Result<(), SinkError> {
        let (_, current) = self.groups.back().expect("there is always a current group");
        if current.rows > 0 && current.started.elapsed() >= self.every {
            self.open_group();
            self.commit_ready(false)?;
        }
        Ok(())
    }

    /// Commits every sealed group with no unfinished file (and, at the end, the current one).
    fn commit_ready(&mut self, all: bool) -> Result<(), SinkError> {
        let last = self.groups.len();
        let mut keep = VecDeque::new();
        for (i, (id, g)) in std::mem::take(&mut self.groups).into_iter().enumerate() {
            let sealed = all || i + 1 < last;
            if sealed && g.open.is_empty() {
                self.commit(g)?;
            } else {
                keep.push_back((id, g));
            }
        }
        self.groups = keep;
        if self.groups.is_empty() && !all {
            self.open_group();
        }
        Ok(())
    }

    fn commit(&mut self, g: Group) -> Result<(), SinkError> {
        if g.rows == 0 {
            return Ok(());
        }
        self.committed_rows += g.rows;
        self.committed_frames += g.frame_rows;
        let pending = g.frames.finish(false)?.then(g.videos.finish(false)?);
        self.parts.extend(pending.commit()?);
        Ok(())
    }

    /// Ends the run: on success every group is committed (an empty run still writes empty
    /// parts, so that readers find the schema); when interrupted, groups with unfinished files
    /// are discarded and the rest committed. Returns the parts written and the number of
    /// Analysed frames committed (rows with `face_index` null or 0).
    pub(crate) fn finish(mut self, interrupted: bool) -> Result<(Vec<PathBuf>, u64), SinkError> {
        if interrupted {
            for (_, g) in std::mem::take(&mut self.groups) {
                if g.open.is_empty() {
                    self.commit(g)?;
                } else {
                    g.frames.finish(false)?.discard();
                    g.videos.finish(false)?.discard();
                }
            }
            return Ok((self.parts, self.committed_frames));
        }
        self.commit_ready(true)?;
        if self.committed_rows == 0 {
            let id = self.next_id;
            let f: PartWriter<FrameRow> = self.dataset.writer(Table::Frames, self.run_id, id, 1, 1);
            let v: PartWriter<VideoRow> = self.dataset.writer(Table::Videos, self.run_id, id, 1, 1);
            self.parts
                .extend(f.finish(true)?.then(v.finish(true)?).commit()?);
        }
        Ok((self.parts, self.committed_frames))
    }
}
