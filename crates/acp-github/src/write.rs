//! Writes: label deltas (never the whole set, F8), label definitions ensured
//! once per repository and remembered on disk, comments with a hidden
//! idempotency marker.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use acp_core::fsx;

use crate::error::{ErrorKind, GhError};
use crate::read::{Comment, check_repo, comments_call};
use crate::transport::{Gh, args};

/// The state file (under the caller's state dir) naming, per repository,
/// the label definitions already ensured.
pub const LABELS_STATE_FILE: &str = "github-labels.json";

/// Whether an issue or a pull request is written to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Item {
    Issue,
    Pr,
}

/// A label definition to ensure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelDef {
    pub name: String,
    /// Six hex digits, no `#`.
    pub color: String,
    pub description: String,
}

/// The hidden marker of a comment: which session posted it for which action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    pub session: String,
    pub action: String,
}

impl Marker {
    pub fn new(session: &str, action: &str) -> Self {
        Self {
            session: session.to_string(),
            action: action.to_string(),
        }
    }

    /// `<!-- acp:<session>:<action> -->`; characters other than
    /// `[A-Za-z0-9._-]` become `_`, so the marker can never end early.
    pub fn tag(&self) -> String {
        let clean = |s: &str| -> String {
            s.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                        c
                    } else {
                        '_'
                    }
                })
                .collect()
        };
        format!(
            "<!-- acp:{}:{} -->",
            clean(&self.session),
            clean(&self.action)
        )
    }
}

/// What [`Gh::post_comment_once`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Posted {
    Posted,
    AlreadyThere,
}

fn check_label(name: &str) -> Result<(), GhError> {
    if name.is_empty() || name.contains(',') || name.starts_with('-') || name.contains('\n') {
        return Err(GhError::new(
            ErrorKind::Other,
            "gh",
            format!("label {name:?} cannot be written (empty, a comma, a newline or a leading -)"),
        ));
    }
    Ok(())
}

impl Gh {
    /// Adds `add` and removes `remove` on an issue or PR in one
    /// `gh issue edit` / `gh pr edit` call; nothing else is touched (F8).
    pub fn edit_labels(
        &self,
        repo: &str,
        item: Item,
        number: u64,
        add: &[&str],
        remove: &[&str],
    ) -> Result<(), GhError> {
        check_repo(repo)?;
        if add.is_empty() && remove.is_empty() {
            return Ok(());
        }
        for l in add.iter().chain(remove) {
            check_label(l)?;
        }
        let kind = match item {
            Item::Issue => "issue",
            Item::Pr => "pr",
        };
        let mut argv = args(&[kind, "edit", &number.to_string(), "-R", repo]);
        if !add.is_empty() {
            argv.push(format!("--add-label={}", add.join(",")));
        }
        if !remove.is_empty() {
            argv.push(format!("--remove-label={}", remove.join(",")));
        }
        self.run(&argv)?;
        self.patch_labels(repo, number, add, remove);
        Ok(())
    }

    /// Creates the definitions in `defs` that `repo` lacks, once: the names
    /// ensured are remembered in `<state_dir>/github-labels.json`, and a
    /// later call (of any process) whose names are all there makes no call.
    /// Returns how many labels were created.
    pub fn ensure_labels(
        &self,
        repo: &str,
        defs: &[LabelDef],
        state_dir: &Path,
    ) -> anyhow::Result<usize> {
        check_repo(repo)?;
        let file = state_dir.join(LABELS_STATE_FILE);
        let _lock = fsx::Lock::beside(&file)?;
        let mut known = read_ensured(&file)?;
        let ensured = known.entry(repo.to_string()).or_default();
        if defs.iter().all(|d| ensured.contains(&d.name)) {
            return Ok(0);
        }
        let existing: BTreeSet<String> = self.label_names(repo)?.into_iter().collect();
        let mut created = 0;
        for d in defs.iter().filter(|d| !existing.contains(&d.name)) {
            check_label(&d.name)?;
            let argv = args(&["label", "create", &d.name, "-R", repo]);
            let argv = [
                argv,
                args(&["--color", &d.color, "--description", &d.description]),
            ];
            match self.run(&argv.concat()) {
                Ok(_) => created += 1,
                Err(e) if e.detail.contains("already exists") => {}
                Err(e) => return Err(e.into()),
            }
        }
        ensured.extend(existing);
        ensured.extend(defs.iter().map(|d| d.name.clone()));
        let text = serde_json::to_vec_pretty(&known)?;
        fsx::atomic_write(&file, &text)?;
        Ok(created)
    }

    /// Posts `body` with `marker`'s hidden tag appended, unless a comment
    /// of the issue or PR already carries the tag. The check is repeated
    /// before every retry, so a post that reached GitHub but failed on the
    /// way back is not doubled. The first check uses the comments of a view
    /// this handle already read ([`Gh::snapshot_comments`]) when there is one.
    pub fn post_comment_once(
        &self,
        repo: &str,
        number: u64,
        marker: &Marker,
        body: &str,
    ) -> Result<Posted, GhError> {
        let seen = self.snapshot_comments(repo, number);
        self.post_comment_seen(repo, number, marker, body, seen)
    }

    /// [`Gh::post_comment_once`] whose first marker check is made in
    /// `seen` (comments this process already read, e.g. with the issue's
    /// view) when given; a retry reads the comments afresh.
    pub(crate) fn post_comment_seen(
        &self,
        repo: &str,
        number: u64,
        marker: &Marker,
        body: &str,
        seen: Option<Vec<Comment>>,
    ) -> Result<Posted, GhError> {
        let mut seen = seen;
        let list = comments_call(repo, number)?;
        let tag = marker.tag();
        let route = format!("repos/{repo}/issues/{number}/comments");
        let post = args(&["api", &route, "--method", "POST"]);
        let post = [post, vec!["-f".into(), format!("body={body}\n\n{tag}")]].concat();
        self.retrying(|| {
            if let Some(first) = seen.take() {
                if first.iter().any(|c| c.body.contains(&tag)) {
                    return Ok(Posted::AlreadyThere);
                }
                let result = self.run_once(&post);
                self.forget(|k| k == list.as_slice());
                if result.is_ok() {
                    self.remember_comment(repo, number, &format!("{body}\n\n{tag}"));
                }
                return result.map(|_| Posted::Posted);
            }
            // A read that cannot succeed (refused, not the JSON asked for)
            // does not stop the post: the marker still guards later posts.
            // A transient or auth failure is retried or returned as usual.
            match self.read_json_with(&list, false) {
                Ok(seen) => {
                    // An answer that is not a comment list (empty output,
                    // another shape) says nothing: post, as for a refused read.
                    let comments: Vec<Comment> =
                        serde_json::from_value((*seen).clone()).unwrap_or_default();
                    if comments.iter().any(|c| c.body.contains(&tag)) {
                        return Ok(Posted::AlreadyThere);
                    }
                }
                Err(e) if e.kind.is_transient() || e.kind == ErrorKind::Auth => return Err(e),
                Err(_) => {}
            }
            let result = self.run_once(&post);
            self.forget(|k| k == list.as_slice());
            if result.is_ok() {
                self.remember_comment(repo, number, &format!("{body}\n\n{tag}"));
            }
            result.map(|_| Posted::Posted)
        })
    }
}

/// The ensured label names per repository; a missing file is empty.
fn read_ensured(file: &Path) -> anyhow::Result<BTreeMap<String, BTreeSet<String>>> {
    match fsx::read_capped_if_exists(file, 4 << 20)? {
        None => Ok(BTreeMap::new()),
        Some(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| anyhow::anyhow!("{}: not a label state file: {e}", file.display())),
    }
}
