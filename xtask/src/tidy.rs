//! Hygiene checks of the tree, written as tests: `cargo test -p xtask`.

#[cfg(test)]
mod tests {
    use crate::root;
    use crate::source::{own_code, rust_files};
    use std::path::{Path, PathBuf};

    fn all_rust_files() -> Vec<PathBuf> {
        let mut files = Vec::new();
        for dir in ["crates", "xtask", "benches", "fuzz"] {
            rust_files(&root().join(dir), &mut files);
        }
        assert!(files.len() > 20);
        files
    }

    #[test]
    fn every_rust_file_opens_with_a_module_doc_line() {
        for f in all_rust_files() {
            let text = std::fs::read_to_string(&f).unwrap();
            assert!(
                text.starts_with("//!"),
                "{} must open with a `//!` line",
                f.display()
            );
        }
    }

    #[test]
    fn no_todo_or_unimplemented_in_the_crates() {
        let (todo, unimpl) = (concat!("todo", "!("), concat!("unimplemented", "!("));
        for f in all_rust_files() {
            let text = std::fs::read_to_string(&f).unwrap();
            assert!(
                !text.contains(todo) && !text.contains(unimpl),
                "{}",
                f.display()
            );
        }
    }

    #[test]
    fn every_unsafe_block_has_a_safety_comment() {
        for f in all_rust_files() {
            let text = std::fs::read_to_string(&f).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            let (block, imp) = (concat!("unsafe", " {"), concat!("unsafe", " impl"));
            for (i, line) in lines.iter().enumerate() {
                if line.contains(block) || line.trim_start().starts_with(imp) {
                    // The comment block right above the line (or the line itself) must say why.
                    let mut j = i;
                    let mut found = line.contains("SAFETY:");
                    while j > 0 && lines[j - 1].trim_start().starts_with("//") {
                        j -= 1;
                        found |= lines[j].contains("SAFETY:");
                    }
                    assert!(found, "{}:{} lacks a SAFETY comment", f.display(), i + 1);
                }
            }
        }
    }

    #[test]
    fn the_lock_file_is_ignored_and_no_native_cpu_flag_is_set() {
        let ignore = std::fs::read_to_string(root().join(".gitignore")).unwrap();
        assert!(ignore.lines().any(|l| l.trim() == "Cargo.lock"));
        let config = std::fs::read_to_string(root().join(".cargo/config.toml")).unwrap_or_default();
        assert!(!config.contains(concat!("target-cpu", "=native")));
    }

    /// The edges between the workspace's crates that ARCHITECTURE.md allows: (from, to, kind),
    /// kind `normal` or `dev`. Anything else is a new edge, which is a change to that file and
    /// to this list.
    const ALLOWED_EDGES: &[(&str, &str, &str)] = &[
        ("instinct-format", "instinct-kernels", "normal"),
        ("instinct-validate", "instinct-format", "normal"),
        ("instinct-validate", "instinct-workcount", "dev"),
        ("instinct-cpu", "instinct-format", "normal"),
        ("instinct-cpu", "instinct-validate", "normal"),
        ("instinct-cpu", "instinct-kernels", "normal"),
        ("instinct-cpu", "instinct-workcount", "dev"),
        ("instinct-batched", "instinct-format", "normal"),
        ("instinct-batched", "instinct-validate", "normal"),
        ("instinct-batched", "instinct-kernels", "normal"),
        ("instinct-batched", "instinct-cpu", "dev"),
        ("instinct-train", "instinct-format", "normal"),
        ("instinct-train", "instinct-validate", "normal"),
        ("instinct-train", "instinct-kernels", "normal"),
        ("instinct-onnx", "instinct-format", "normal"),
        ("instinct-onnx", "instinct-validate", "normal"),
        ("instinct-onnx", "instinct-workcount", "dev"),
        ("instinct-wgsl", "instinct-format", "normal"),
        ("instinct-wgsl", "instinct-validate", "normal"),
        ("instinct-wgsl", "instinct-workcount", "dev"),
        ("instinct-gpu", "instinct-format", "normal"),
        ("instinct-gpu", "instinct-validate", "normal"),
        ("instinct-gpu", "instinct-wgsl", "normal"),
        ("instinct-gpu", "instinct-batched", "dev"),
        ("instinct-gpu", "instinct-cpu", "dev"),
        ("instinct-nn", "instinct-format", "normal"),
        ("instinct-nn", "instinct-validate", "normal"),
        ("instinct-nn", "instinct-kernels", "normal"),
        ("instinct-nn", "instinct-cpu", "normal"),
        ("instinct-nn", "instinct-batched", "normal"),
        ("instinct-nn", "instinct-wgsl", "normal"),
        ("instinct-nn", "instinct-gpu", "normal"),
        ("instinct-nn", "instinct-train", "normal"),
        ("instinct-nn", "instinct-onnx", "normal"),
        ("instinct-nn", "instinct-quant", "normal"),
        ("instinct-quant", "instinct-format", "normal"),
        ("instinct-quant", "instinct-validate", "normal"),
        ("instinct-quant", "instinct-kernels", "normal"),
        ("instinct-quant", "instinct-cpu", "normal"),
        ("instinct-cli", "instinct-nn", "normal"),
        ("instinct-cli", "instinct-io", "normal"),
        ("instinct-python", "instinct-nn", "normal"),
        ("instinct-python", "instinct-io", "normal"),
        ("instinct-io", "instinct-format", "normal"),
        ("instinct-io", "instinct-workcount", "dev"),
        ("instinct-conformance", "instinct-nn", "normal"),
        ("instinct-conformance", "instinct-format", "normal"),
        ("instinct-conformance", "instinct-validate", "normal"),
        ("instinct-conformance", "instinct-kernels", "normal"),
        ("instinct-conformance", "instinct-cpu", "normal"),
        ("instinct-conformance", "instinct-onnx", "dev"),
        ("instinct-benches", "instinct-nn", "normal"),
        ("instinct-fuzz", "instinct-nn", "normal"),
        ("instinct-fuzz", "instinct-io", "normal"),
    ];

    /// Runs cargo with `args` in the workspace root and returns its standard output.
    fn cargo_output(args: &[&str]) -> String {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = std::process::Command::new(cargo)
            .args(args)
            .current_dir(root())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "cargo {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// The workspace's packages as `cargo metadata` describes them.
    fn workspace_packages() -> Vec<serde_json::Value> {
        let out = cargo_output(&[
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ]);
        let metadata: serde_json::Value = serde_json::from_str(&out).unwrap();
        metadata["packages"].as_array().unwrap().clone()
    }

    #[test]
    fn the_dependency_edges_are_those_architecture_md_allows() {
        // The edges as cargo resolves them (every manifest, every kind of dependency).
        let packages = workspace_packages();
        let ours: std::collections::BTreeSet<&str> = packages
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        let mut edges = std::collections::BTreeSet::new();
        for p in &packages {
            for d in p["dependencies"].as_array().unwrap() {
                let to = d["name"].as_str().unwrap();
                if ours.contains(to) {
                    let kind = d["kind"].as_str().unwrap_or("normal");
                    edges.insert((p["name"].as_str().unwrap(), to, kind));
                }
            }
        }
        let allowed: std::collections::BTreeSet<_> = ALLOWED_EDGES.iter().copied().collect();
        let new: Vec<_> = edges.difference(&allowed).collect();
        let gone: Vec<_> = allowed.difference(&edges).collect();
        assert!(
            new.is_empty() && gone.is_empty(),
            "edges not in ARCHITECTURE.md's list: {new:?}; listed edges that no longer exist: {gone:?}"
        );
        // The forbidden ones, named: kernels depends on nothing of ours, wgsl has no wgpu, and
        // train and cpu stay apart (they share kernels).
        for (from, to) in [
            ("instinct-kernels", "instinct-format"),
            ("instinct-train", "instinct-cpu"),
            ("instinct-cpu", "instinct-train"),
        ] {
            assert!(
                !edges.iter().any(|e| e.0 == from && e.1 == to),
                "{from} → {to}"
            );
        }
        let wgsl = packages
            .iter()
            .find(|p| p["name"] == "instinct-wgsl")
            .unwrap();
        assert!(
            !wgsl["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d["name"] == "wgpu"),
            "instinct-wgsl depends on wgpu"
        );
    }

    /// Test support and automation, never published.
    const UNPUBLISHED: &[&str] = &[
        "instinct-conformance",
        "instinct-workcount",
        "instinct-benches",
        "instinct-fuzz",
        // Distributed as the Python package instinct-nn (pyproject.toml), not as a crate.
        "instinct-python",
        "xtask",
    ];

    #[test]
    fn every_published_crate_carries_its_registry_metadata() {
        for p in workspace_packages() {
            let name = p["name"].as_str().unwrap();
            let publish = p["publish"].as_array();
            if UNPUBLISHED.contains(&name) {
                assert!(
                    publish.is_some_and(|r| r.is_empty()),
                    "{name}: publish = false"
                );
                continue;
            }
            assert!(publish.is_none(), "{name} is published but not publishable");
            for field in ["description", "license", "readme"] {
                assert!(
                    p[field].as_str().is_some_and(|v| !v.is_empty()),
                    "{name}: {field}"
                );
            }
            for field in ["keywords", "categories"] {
                let list = p[field].as_array().unwrap();
                assert!((1..=5).contains(&list.len()), "{name}: {field}");
            }
            // The licence texts travel in the package (links to the root's files).
            let dir = Path::new(p["manifest_path"].as_str().unwrap())
                .parent()
                .unwrap();
            for file in ["LICENSE-MIT", "LICENSE-APACHE"] {
                assert!(dir.join(file).is_file(), "{name}: {file}");
            }
        }
    }

    #[test]
    fn the_default_facade_compiles_no_gpu_stack() {
        let tree = cargo_output(&[
            "tree",
            "-p",
            "instinct-nn",
            "-e",
            "normal,build",
            "--prefix",
            "none",
            "--offline",
        ]);
        // naga, naga-types, wgpu, wgpu-core, wgpu-hal, … (all unconditional dependencies of
        // instinct-wgsl and instinct-gpu, so the host's tree shows them if either is in).
        for gpu in ["naga", "wgpu", "instinct-wgsl ", "instinct-gpu "] {
            assert!(!tree.lines().any(|l| l.starts_with(gpu)), "{gpu} in {tree}");
        }
        assert!(tree.lines().any(|l| l.starts_with("instinct-onnx ")));
        assert!(tree.lines().any(|l| l.starts_with("instinct-train ")));
    }

    #[test]
    fn only_two_enums_choose_an_engine_or_a_shader() {
        // The engine seam: `instinct::EngineChoice` chooses the engine and
        // `instinct_wgsl::Mode` the shader style; no other enum is named like a choice of
        // either (`…Engine`, `…Choice`, `…ShaderMode`, `Mode`).
        let mut found = Vec::new();
        for f in all_rust_files() {
            let text =
                crate::source::blank_comments_and_literals(&std::fs::read_to_string(&f).unwrap());
            for line in text.lines() {
                let Some(rest) = line.trim_start().split("enum ").nth(1) else {
                    continue;
                };
                if !(line.trim_start().starts_with("enum ") || line.contains(" enum ")) {
                    continue;
                }
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                let named = name.ends_with("Engine")
                    || name.ends_with("Choice")
                    || name.ends_with("ShaderMode")
                    || name == "Mode";
                if named {
                    found.push(name);
                }
            }
        }
        found.sort();
        assert_eq!(found, ["EngineChoice", "Mode"]);
    }

    #[test]
    fn no_source_file_holds_more_than_700_lines_of_its_own_code() {
        // Lines before a file's inline `#[cfg(test)]` module, comments included: a longer file
        // is split by what each part does. (Library and binary sources; integration tests are
        // lists of cases.)
        for f in all_rust_files()
            .into_iter()
            .filter(|f| f.components().any(|c| c.as_os_str() == "src"))
        {
            let text = std::fs::read_to_string(&f).unwrap();
            let own = own_code(&text).len();
            assert!(
                own <= 700,
                "{} has {own} lines of its own code",
                f.display()
            );
        }
    }

    #[test]
    fn tests_do_not_read_the_shared_folder() {
        let shared = concat!("..", "/shared");
        for f in all_rust_files() {
            let text = std::fs::read_to_string(&f).unwrap();
            assert!(!text.contains(shared), "{} reads {shared}", f.display());
        }
    }
}
