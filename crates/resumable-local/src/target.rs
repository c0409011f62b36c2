//! Where a file goes: an application file API, and the checkpoint key of a
//! file uploaded to it.

use std::path::{Path, PathBuf};

use resumable_core::{FileApi, Secret};

use crate::file::guess_mime;

/// The application file API to upload to: hand it to a driver's
/// `Uploader::upload_file`.
#[derive(Debug, Clone)]
pub struct FileApiTarget {
    /// The API's base URL, e.g. `https://api.example.com`.
    pub api_base: String,
    /// The organization.
    pub organization: String,
    /// The API key.
    pub api_key: Secret,
    /// The MIME type; guessed from the file's extension when `None`.
    pub mime_type: Option<String>,
    /// The name to register; the path's file name when `None`.
    pub filename: Option<String>,
}

impl FileApiTarget {
    /// The API at `api_base`, for `organization`, with `api_key`; files keep
    /// their own name and get the type their extension suggests. Set
    /// [`mime_type`](Self::mime_type) or [`filename`](Self::filename) to
    /// override either.
    pub fn new(
        api_base: impl Into<String>,
        organization: impl Into<String>,
        api_key: Secret,
    ) -> Self {
        Self {
            api_base: api_base.into(),
            organization: organization.into(),
            api_key,
            mime_type: None,
            filename: None,
        }
    }

    /// The engine's description of an upload of the file at `path` here:
    /// the name and type to register (the target's, else the path's file
    /// name and the type [`guess_mime`] gives it). The caller puts it in a
    /// `Config::file_api` with the file's size.
    pub fn file_api(&self, path: &Path) -> FileApi {
        let filename = match &self.filename {
            Some(name) => name.clone(),
            None => path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        };
        FileApi {
            api_base: self.api_base.clone(),
            organization: self.organization.clone(),
            api_key: self.api_key.clone(),
            filename,
            mime_type: self.mime_type.clone().unwrap_or_else(|| guess_mime(path)),
        }
    }
}

/// The checkpoint key of a file upload: API, organization and canonical
/// path (`api|org|path`), so either driver resumes the other's upload of
/// the same file from a shared store. It resolves the path, so an async
/// caller runs it off its runtime.
pub fn checkpoint_key(api: &FileApiTarget, path: &Path) -> String {
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| PathBuf::from(path));
    format!(
        "{}|{}|{}",
        api.api_base.trim_end_matches('/'),
        api.organization,
        path.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_names_the_file_unless_told_and_keys_ignore_a_trailing_slash() {
        let mut api = FileApiTarget::new("https://api.example/", "org_1", Secret::new("k"));
        let path = Path::new("/nonexistent/dir/clip.mp4");
        let described = api.file_api(path);
        assert_eq!(described.filename, "clip.mp4");
        assert_eq!(described.mime_type, "video/mp4");
        assert_eq!(
            checkpoint_key(&api, path),
            "https://api.example|org_1|/nonexistent/dir/clip.mp4"
        );
        api.filename = Some("renamed.bin".into());
        api.mime_type = Some("application/x-test".into());
        let described = api.file_api(path);
        assert_eq!(described.filename, "renamed.bin");
        assert_eq!(described.mime_type, "application/x-test");
    }
}
