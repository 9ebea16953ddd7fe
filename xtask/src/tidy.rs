//! Hygiene checks of the tree, written as tests: `cargo test -p xtask`.

#[cfg(test)]
mod tests {
    use crate::root;
    use std::path::{Path, PathBuf};

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n != "target") {
                    rust_files(&path, out);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    fn all_rust_files() -> Vec<PathBuf> {
        let mut files = Vec::new();
        rust_files(&root().join("crates"), &mut files);
        rust_files(&root().join("xtask"), &mut files);
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

    #[test]
    fn the_forbidden_dependency_edges_of_architecture_md_are_absent() {
        // (crate, crates it must not depend on, not even for tests)
        for (krate, forbidden) in [
            ("instinct-kernels", &["instinct-format"][..]),
            ("instinct-wgsl", &["wgpu"][..]),
            ("instinct-train", &["instinct-cpu"][..]),
            ("instinct-cpu", &["instinct-train"][..]),
            (
                "instinct-onnx",
                &[
                    "instinct-cpu",
                    "instinct-kernels",
                    "instinct-train",
                    "instinct",
                ][..],
            ),
        ] {
            let manifest =
                std::fs::read_to_string(root().join("crates").join(krate).join("Cargo.toml"))
                    .unwrap();
            for f in forbidden {
                let named = manifest
                    .lines()
                    .any(|l| l.split(['.', ' ', '=']).next() == Some(f));
                assert!(!named, "{krate} depends on {f}");
            }
        }
        // batched → cpu only as the test oracle.
        let batched =
            std::fs::read_to_string(root().join("crates/instinct-batched/Cargo.toml")).unwrap();
        let (main, _) = batched
            .split_once("[dev-dependencies]")
            .unwrap_or((&batched, ""));
        assert!(
            !main.lines().any(|l| l.starts_with("instinct-cpu")),
            "batched depends on cpu"
        );
    }

    #[test]
    fn only_two_enums_choose_an_engine_or_a_shader() {
        // The engine seam: `instinct::EngineChoice` chooses the engine and
        // `instinct_wgsl::Mode` the shader style; no other enum is named like a choice of
        // either (`…Engine`, `…Choice`, `…ShaderMode`, `Mode`).
        let mut found = Vec::new();
        let mut files = all_rust_files();
        rust_files(&root().join("benches"), &mut files);
        rust_files(&root().join("fuzz"), &mut files);
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
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
    fn tests_do_not_read_the_shared_folder() {
        let shared = concat!("..", "/shared");
        for f in all_rust_files() {
            let text = std::fs::read_to_string(&f).unwrap();
            assert!(!text.contains(shared), "{} reads {shared}", f.display());
        }
    }
}
