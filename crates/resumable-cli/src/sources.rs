//! What `resumable upload` reads: the files named, the files under a
//! directory with `-r`, or stdin (`-`), each as a [`Job`].

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::exit::CliError;

/// Where a job's bytes come from.
#[derive(Debug, Clone)]
pub(crate) enum Input {
    /// A regular file, read by position (so it resumes).
    File(PathBuf),
    /// Stdin, read once: `size` bytes, as `--size` said. It cannot resume
    /// after the process ends, so it keeps no checkpoint.
    Stdin {
        /// The bytes the file API is told of up front.
        size: u64,
    },
}

/// A file (or stdin) to upload, the name it is shown by, and the name it is
/// registered as.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    /// Where the bytes come from.
    pub(crate) input: Input,
    /// Its name in progress, results and messages.
    pub(crate) name: String,
    /// The registered filename; `None`: the file's own name.
    pub(crate) filename: Option<String>,
}

impl Job {
    /// A file shown by its path as given, registered by its own name.
    pub(crate) fn new(path: PathBuf) -> Self {
        let name = path.display().to_string();
        Self {
            input: Input::File(path),
            name,
            filename: None,
        }
    }

    /// The file, when the job reads one.
    pub(crate) fn path(&self) -> Option<&Path> {
        match &self.input {
            Input::File(path) => Some(path),
            Input::Stdin { .. } => None,
        }
    }

    /// The bytes it holds, when known now.
    pub(crate) fn size(&self) -> Option<u64> {
        match &self.input {
            Input::File(path) => std::fs::metadata(path).ok().map(|m| m.len()),
            Input::Stdin { size } => Some(*size),
        }
    }

    /// Whether it can resume after the process ends (stdin cannot).
    pub(crate) fn resumable(&self) -> bool {
        matches!(self.input, Input::File(_))
    }
}

/// What the command line asks to read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Wanted<'a> {
    /// The paths given (`-`: stdin).
    pub(crate) paths: &'a [PathBuf],
    /// `-r`: the files under a directory.
    pub(crate) recursive: bool,
    /// `--size`, for stdin.
    pub(crate) size: Option<u64>,
    /// `--name`, for one file.
    pub(crate) name: Option<&'a str>,
}

/// The jobs `wanted` names, in order, each file once, and a note for each
/// entry under a directory that is skipped (not a regular file). A missing
/// file or a directory without `-r` stays a job, whose upload fails with
/// its own message.
pub(crate) fn jobs(wanted: Wanted<'_>) -> Result<(Vec<Job>, Vec<String>), CliError> {
    let stdin = Path::new("-");
    let from_stdin = wanted.paths.iter().filter(|p| *p == stdin).count();
    if from_stdin > 1 {
        return Err(CliError::Usage("`-` (stdin) can be read only once".into()));
    }
    match (from_stdin, wanted.size) {
        (1, None) => {
            return Err(CliError::Usage(
                "reading stdin (`-`) needs --size BYTES: the file API asks for the size \
                 before the first byte"
                    .into(),
            ));
        }
        (0, Some(_)) => {
            return Err(CliError::Usage(
                "--size is for stdin (`-`) only: a file's size is read from the file".into(),
            ));
        }
        _ => {}
    }
    let mut jobs = Vec::new();
    let mut skipped = Vec::new();
    let mut seen = HashSet::new();
    for path in wanted.paths {
        if path == stdin {
            let size = wanted.size.unwrap_or_default();
            if size == 0 {
                return Err(CliError::Usage(
                    "--size must be above 0: the file API takes no empty file".into(),
                ));
            }
            let Some(name) = wanted.name else {
                return Err(CliError::Usage(
                    "reading stdin (`-`) needs --name NAME: the filename to register".into(),
                ));
            };
            jobs.push(Job {
                input: Input::Stdin { size },
                name: "stdin".into(),
                filename: Some(name.to_owned()),
            });
            continue;
        }
        if wanted.recursive && path.is_dir() {
            walk(path, &mut jobs, &mut skipped, &mut seen)?;
            continue;
        }
        if seen.insert(std::fs::canonicalize(path).unwrap_or_else(|_| path.clone())) {
            jobs.push(Job::new(path.clone()));
        }
    }
    if let Some(name) = wanted.name {
        match jobs.as_mut_slice() {
            [one] => one.filename = Some(name.to_owned()),
            _ => {
                return Err(CliError::Usage(format!(
                    "--name names one file, and {} are to be uploaded",
                    jobs.len()
                )));
            }
        }
    }
    Ok((jobs, skipped))
}

/// Adds the regular files under `dir`, in the order of their paths, each
/// registered by its path relative to `dir` (`sub/b.jpg`, with `/` between
/// parts). Symbolic links are not followed, so a walk never loops.
fn walk(
    dir: &Path,
    jobs: &mut Vec<Job>,
    skipped: &mut Vec<String>,
    seen: &mut HashSet<PathBuf>,
) -> Result<(), CliError> {
    for entry in walkdir::WalkDir::new(dir)
        .follow_links(false)
        .sort_by_file_name()
    {
        let entry = entry.map_err(|e| {
            let at = e.path().unwrap_or(dir).display().to_string();
            CliError::Failed(format!("cannot read the directory {at}: {e}"))
        })?;
        let kind = entry.file_type();
        if kind.is_dir() {
            continue;
        }
        let path = entry.path();
        if !kind.is_file() {
            let what = if kind.is_symlink() {
                "a symbolic link (not followed)"
            } else {
                "not a regular file"
            };
            skipped.push(format!("{}: skipped: {what}", path.display()));
            continue;
        }
        let relative = path.strip_prefix(dir).unwrap_or(path);
        let filename = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        if seen.insert(std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned())) {
            jobs.push(Job {
                filename: Some(filename),
                ..Job::new(path.to_owned())
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wanted(paths: &[PathBuf]) -> Wanted<'_> {
        Wanted {
            paths,
            recursive: true,
            size: None,
            name: None,
        }
    }

    #[test]
    fn a_directory_gives_its_files_in_order_by_relative_name() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("photos");
        std::fs::create_dir_all(root.join("b/c")).unwrap();
        std::fs::create_dir_all(root.join("a")).unwrap();
        for f in ["z.jpg", "b/c/y.jpg", "a/x.jpg", "b/w.jpg"] {
            std::fs::write(root.join(f), f).unwrap();
        }
        #[cfg(unix)]
        std::os::unix::fs::symlink(root.join("z.jpg"), root.join("link.jpg")).unwrap();
        let paths = [root.clone(), root.join("z.jpg")];
        let (jobs, skipped) = jobs(wanted(&paths)).unwrap();
        let names: Vec<&str> = jobs.iter().filter_map(|j| j.filename.as_deref()).collect();
        assert_eq!(names, ["a/x.jpg", "b/c/y.jpg", "b/w.jpg", "z.jpg"]);
        #[cfg(unix)]
        assert!(
            skipped.len() == 1 && skipped[0].contains("link.jpg: skipped: a symbolic link"),
            "{skipped:?}"
        );
    }

    #[test]
    fn stdin_needs_a_size_and_a_name_and_a_name_one_file() {
        let stdin = [PathBuf::from("-")];
        let error = |w: Wanted<'_>| jobs(w).unwrap_err().to_string();
        assert!(error(wanted(&stdin)).contains("--size"));
        let sized = Wanted {
            size: Some(5),
            ..wanted(&stdin)
        };
        assert!(error(sized).contains("--name"));
        let (jobs_, _) = jobs(Wanted {
            name: Some("n.bin"),
            ..sized
        })
        .unwrap();
        assert!(matches!(jobs_[0].input, Input::Stdin { size: 5 }));
        assert_eq!(jobs_[0].filename.as_deref(), Some("n.bin"));
        let twice = [PathBuf::from("-"), PathBuf::from("-")];
        assert!(
            error(Wanted {
                size: Some(5),
                ..wanted(&twice)
            })
            .contains("only once")
        );
        let files = [PathBuf::from("a"), PathBuf::from("b")];
        assert!(
            error(Wanted {
                name: Some("n"),
                ..wanted(&files)
            })
            .contains("--name names one")
        );
        assert!(
            error(Wanted {
                size: Some(5),
                ..wanted(&files)
            })
            .contains("stdin (`-`) only")
        );
    }
}
