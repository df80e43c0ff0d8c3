//! `control-plane.yaml` read with a real YAML parser (yaml-rust2's event
//! stream), exposed through the original's lookup rules: dotted paths through
//! nested mappings, scalars as their source text, empty/null values absent.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::{Context, Result};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// One node of a parsed document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A scalar as written in the file (quotes removed, escapes resolved);
    /// `plain` is true for unquoted scalars.
    Scalar { text: String, plain: bool },
    /// A mapping in document order; duplicate keys are all kept. A key that is
    /// not a scalar is stored as `None`.
    Map(Vec<(Option<String>, Node)>),
    /// A sequence.
    Seq(Vec<Node>),
}

impl Node {
    /// The scalar's text when it counts as a value: not null (`~`, `null`,
    /// empty), not an empty quoted string, and on one line.
    fn value(&self) -> Option<&str> {
        match self {
            Node::Scalar { text, plain } => {
                if text.is_empty() || text.contains(['\n', '\r']) {
                    return None;
                }
                if *plain && matches!(text.as_str(), "~" | "null" | "Null" | "NULL") {
                    return None;
                }
                Some(text)
            }
            _ => None,
        }
    }

    /// The first value at `dotted` under this node, in document order. A key
    /// may itself contain dots (the original joined the path of keys with `.`).
    fn lookup(&self, dotted: &str) -> Option<&str> {
        let Node::Map(entries) = self else {
            return None;
        };
        entries.iter().find_map(|(key, node)| {
            let key = key.as_deref()?;
            if key == dotted
                && let Some(v) = node.value()
            {
                return Some(v);
            }
            let rest = dotted.strip_prefix(key)?.strip_prefix('.')?;
            node.lookup(rest)
        })
    }
}

/// Builds [`Node`] trees from parser events.
#[derive(Default)]
struct Builder {
    docs: Vec<Node>,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
}

enum Frame {
    Map {
        anchor: usize,
        entries: Vec<(Option<String>, Node)>,
        pending_key: Option<Option<String>>,
    },
    Seq {
        anchor: usize,
        items: Vec<Node>,
    },
}

impl Builder {
    fn push_node(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries,
                pending_key,
                ..
            }) => match pending_key.take() {
                None => {
                    let key = match node {
                        Node::Scalar { text, .. } => Some(text),
                        _ => None,
                    };
                    *pending_key = Some(key);
                }
                Some(key) => entries.push((key, node)),
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, _mark: Marker) {
        match ev {
            Event::Scalar(text, style, anchor, _tag) => {
                let plain = style == TScalarStyle::Plain;
                self.push_node(Node::Scalar { text, plain }, anchor);
            }
            Event::Alias(id) => {
                let node = self.anchors.get(&id).cloned().unwrap_or(Node::Scalar {
                    text: String::new(),
                    plain: true,
                });
                self.push_node(node, 0);
            }
            Event::SequenceStart(anchor, _) => self.stack.push(Frame::Seq {
                anchor,
                items: Vec::new(),
            }),
            Event::MappingStart(anchor, _) => self.stack.push(Frame::Map {
                anchor,
                entries: Vec::new(),
                pending_key: None,
            }),
            Event::SequenceEnd | Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Seq { anchor, items }) => self.push_node(Node::Seq(items), anchor),
                Some(Frame::Map {
                    anchor, entries, ..
                }) => self.push_node(Node::Map(entries), anchor),
                None => {}
            },
            _ => {}
        }
    }
}

/// Parses YAML text into its documents. The error names `origin` (a file
/// path) with the 1-based line and column of the problem, on one line.
pub fn parse(text: &str, origin: &Path) -> Result<Vec<Node>> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    if let Err(e) = parser.load(&mut builder, true) {
        let m = e.marker();
        anyhow::bail!(
            "{}:{}:{}: invalid YAML: {}",
            origin.display(),
            m.line(),
            m.col() + 1,
            e.info().replace('\n', " ")
        );
    }
    Ok(builder.docs)
}

type Cache = Mutex<HashMap<PathBuf, (String, Arc<Vec<Node>>)>>;

/// Parsed files of this process, keyed by path and checked against the
/// current content (a file is parsed again only when its text changed).
fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The parsed documents of an existing file.
pub(crate) fn load_file(path: &Path) -> Result<Arc<Vec<Node>>> {
    let bytes = fs_err::read(path).context("cannot read the profile config")?;
    let text = String::from_utf8(bytes)
        .map_err(|e| anyhow::anyhow!("{}: not valid UTF-8 ({e})", path.display()))?;
    let mut guard = cache().lock().unwrap_or_else(|e| e.into_inner());
    if let Some((cached_text, docs)) = guard.get(path)
        && *cached_text == text
    {
        return Ok(Arc::clone(docs));
    }
    let docs = Arc::new(parse(&text, path)?);
    guard.insert(path.to_path_buf(), (text, Arc::clone(&docs)));
    Ok(docs)
}

/// The first value at `dotted` in any of `docs` (documents in order).
pub(crate) fn lookup<'a>(docs: &'a [Node], dotted: &str) -> Option<&'a str> {
    docs.iter().find_map(|d| d.lookup(dotted))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn get(text: &str, key: &str) -> Option<String> {
        let docs = parse(text, Path::new("t.yaml")).unwrap();
        lookup(&docs, key).map(str::to_string)
    }

    #[test]
    fn dotted_lookup_of_nested_mappings() {
        let y = "id: \"demo\"\nrepo:\n  slug: 'a/b'\n  root: /r\nexecution:\n  claude:\n    timeout_seconds: 0900\n    enabled: True\n";
        assert_eq!(get(y, "id").as_deref(), Some("demo"));
        assert_eq!(get(y, "repo.slug").as_deref(), Some("a/b"));
        assert_eq!(get(y, "repo.root").as_deref(), Some("/r"));
        assert_eq!(
            get(y, "execution.claude.timeout_seconds").as_deref(),
            Some("0900")
        );
        assert_eq!(get(y, "execution.claude.enabled").as_deref(), Some("True"));
        assert_eq!(get(y, "repo"), None, "a mapping is not a value");
        assert_eq!(get(y, "repo.missing"), None);
        assert_eq!(get(y, "nope.slug"), None);
    }

    #[test]
    fn empty_null_and_multiline_values_are_absent() {
        let y = "a:\nb: ~\nc: null\nd: \"\"\ne: 'null'\nf: |\n  x\n  y\ng: [1, 2]\n";
        for k in ["a", "b", "c", "d", "f", "g"] {
            assert_eq!(get(y, k), None, "{k}");
        }
        assert_eq!(get(y, "e").as_deref(), Some("null"));
    }

    #[test]
    fn first_non_empty_duplicate_wins_and_comments_are_stripped() {
        let y = "a:\n  b: \"\"\na:\n  b: second # note\n  b: third\n";
        assert_eq!(get(y, "a.b").as_deref(), Some("second"));
    }

    #[test]
    fn keys_with_dots_and_anchors() {
        let y = "base: &b\n  model: m1\nx.y: 3\npool:\n  claude: *b\n";
        assert_eq!(get(y, "x.y").as_deref(), Some("3"));
        assert_eq!(get(y, "pool.claude.model").as_deref(), Some("m1"));
    }

    #[test]
    fn malformed_yaml_names_file_and_line() {
        let err = parse(
            "a: 1\nb: [unclosed\nc: 2\n",
            Path::new("/p/control-plane.yaml"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("/p/control-plane.yaml:"), "{err}");
        assert!(err.contains("invalid YAML"), "{err}");
        assert!(!err.contains('\n'));
        let line: usize = err.split(':').nth(1).unwrap().parse().unwrap();
        assert!((2..=4).contains(&line), "{err}");

        let err = parse("a:\n  b: 1\n c: 2\n", Path::new("x.yaml"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("x.yaml:3:"), "{err}");
    }

    #[test]
    fn files_are_cached_until_their_text_changes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.yaml");
        std::fs::write(&p, "a: 1\n").unwrap();
        let one = load_file(&p).unwrap();
        let two = load_file(&p).unwrap();
        assert!(Arc::ptr_eq(&one, &two));
        std::fs::write(&p, "a: 2\n").unwrap();
        let three = load_file(&p).unwrap();
        assert_eq!(lookup(&three, "a"), Some("2"));
    }
}
