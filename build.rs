//! Generates the tool registry from the root `Cargo.toml`: every dependency
//! written `<name> = { path = "crates/<name>" }` (the layer crates `acp-*`
//! aside) is a tool crate exporting `TOOLS`, listed in file order.

use std::io::Write;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest = std::fs::read_to_string("Cargo.toml")?;
    let mut in_deps = false;
    let mut crates = Vec::new();
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_deps = line == "[dependencies]";
            continue;
        }
        if !in_deps {
            continue;
        }
        let Some((name, rest)) = line.split_once('=') else {
            continue;
        };
        let name = name.trim();
        let path = format!("\"crates/{name}\"");
        if !name.starts_with("acp-") && rest.contains("path") && rest.contains(&path) {
            crates.push(name.replace('-', "_"));
        }
    }
    let mut code = String::from("/// The tool tables of all tool crates, in Cargo.toml order.\n");
    code.push_str("const ALL: &[&[ToolSpec]] = &[\n");
    for c in &crates {
        code.push_str(&format!("    {c}::TOOLS,\n"));
    }
    code.push_str("];\n");
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?).join("tools.rs");
    // The target dir may hold hard links shared with other checkouts'
    // builds: replace the file, never write into it in place.
    let _ = std::fs::remove_file(&out);
    std::fs::write(out, code)?;
    std::io::stdout().write_all(b"cargo::rerun-if-changed=Cargo.toml\n")?;
    Ok(())
}
