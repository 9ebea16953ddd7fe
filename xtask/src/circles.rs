//! A test that no two files of a crate import each other, directly or round a circle: each
//! file's `use` paths and `crate::`/`super::`/`self::`/child-module paths, resolved to the files
//! that define those modules, must form a graph without cycles (lines from a file's inline
//! `#[cfg(test)]` module on do not count; neither do comments or strings).

#[cfg(test)]
mod tests {
    use crate::root;
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    /// A module path inside a crate (`[]` is the crate root).
    type ModPath = Vec<String>;

    /// The text with comments and string literals blanked, cut before its test module.
    fn code_of(text: &str) -> String {
        let own: Vec<&str> = text
            .lines()
            .take_while(|l| !l.starts_with("#[cfg(test)]"))
            .collect();
        let own = own.join("\n");
        let mut out = String::with_capacity(own.len());
        let mut chars = own.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '/' if chars.peek() == Some(&'/') => {
                    for c in chars.by_ref() {
                        if c == '\n' {
                            out.push('\n');
                            break;
                        }
                    }
                }
                '/' if chars.peek() == Some(&'*') => {
                    chars.next();
                    let mut last = ' ';
                    for c in chars.by_ref() {
                        if last == '*' && c == '/' {
                            break;
                        }
                        last = c;
                    }
                    out.push(' ');
                }
                '"' => {
                    let mut escaped = false;
                    for c in chars.by_ref() {
                        if !escaped && c == '"' {
                            break;
                        }
                        escaped = !escaped && c == '\\';
                    }
                    out.push_str("\"\"");
                }
                // A character literal, so that '"' opens no string (lifetimes pass through).
                '\'' => {
                    let rest: String = chars.clone().take(3).collect();
                    let quote = rest.find('\'');
                    if rest.starts_with('\\') || quote == Some(1) {
                        for c in chars.by_ref() {
                            if c == '\'' {
                                break;
                            }
                        }
                        out.push_str("' '");
                    } else {
                        out.push('\'');
                    }
                }
                c => out.push(c),
            }
        }
        out
    }

    fn is_ident(c: char) -> bool {
        c.is_alphanumeric() || c == '_'
    }

    /// The names of the modules a file declares with `mod name;`.
    fn declared_modules(code: &str) -> Vec<String> {
        let mut names = Vec::new();
        for statement in code.split([';', '{', '}']) {
            let words: Vec<&str> = statement.split_whitespace().collect();
            if let [.., "mod", name] = words.as_slice()
                && name.chars().all(is_ident)
                && code.contains(&format!("mod {name};"))
            {
                names.push(name.to_string());
            }
        }
        names
    }

    /// `a::{b, c::{d, e}}` as `a::b`, `a::c::d`, `a::c::e`.
    fn expand(path: &str) -> Vec<String> {
        let path: String = path.split_whitespace().collect::<Vec<_>>().join(" ");
        let Some(open) = path.find('{') else {
            return vec![path];
        };
        let close = path.rfind('}').unwrap_or(path.len());
        let (prefix, body) = (&path[..open], &path[open + 1..close]);
        let (mut parts, mut depth, mut current) = (Vec::new(), 0, String::new());
        for c in body.chars() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
            if c == ',' && depth == 0 {
                parts.push(std::mem::take(&mut current));
            } else {
                current.push(c);
            }
        }
        parts.push(current);
        parts
            .iter()
            .filter(|p| !p.trim().is_empty())
            .flat_map(|p| expand(p.trim()))
            .map(|p| format!("{prefix}{p}"))
            .collect()
    }

    /// Every path the code names: `use` trees, expanded, and paths from `crate`, `super`,
    /// `self` or a child module.
    fn named_paths(code: &str, children: &[String]) -> Vec<String> {
        let mut paths = Vec::new();
        let mut rest = code;
        while let Some(at) = rest.find("use ") {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + 4..];
            if before.is_some_and(is_ident) {
                continue;
            }
            let end = rest.find(';').unwrap_or(rest.len());
            paths.extend(expand(&rest[..end]));
            rest = &rest[end..];
        }
        let chars: Vec<char> = code.chars().collect();
        let starts: Vec<&str> = ["crate", "super", "self"]
            .into_iter()
            .chain(children.iter().map(String::as_str))
            .collect();
        let mut i = 0;
        while i < chars.len() {
            if (i == 0 || !(is_ident(chars[i - 1]) || chars[i - 1] == ':'))
                && let Some(start) = starts.iter().find(|s| {
                    let s: Vec<char> = s.chars().collect();
                    chars[i..].starts_with(&s) && chars[i + s.len()..].starts_with(&[':', ':'])
                })
            {
                let mut j = i + start.len();
                while chars[j..].starts_with(&[':', ':'])
                    && chars.get(j + 2).is_some_and(|c| is_ident(*c))
                {
                    j += 2;
                    while chars.get(j).is_some_and(|c| is_ident(*c)) {
                        j += 1;
                    }
                }
                // `crate::{…}` is a `use` tree, already expanded above.
                if j > i + start.len() {
                    paths.push(chars[i..j].iter().collect());
                }
                i = j.max(i + 1);
            } else {
                i += 1;
            }
        }
        paths
    }

    /// The module files reachable from a crate root through `mod name;`.
    fn modules(root_file: &Path) -> BTreeMap<ModPath, PathBuf> {
        let mut found = BTreeMap::from([(Vec::new(), root_file.to_path_buf())]);
        let mut todo = vec![(Vec::new(), root_file.to_path_buf())];
        while let Some((path, file)) = todo.pop() {
            let code = code_of(&std::fs::read_to_string(&file).unwrap());
            let stem = file.file_stem().unwrap().to_str().unwrap();
            let dir = if ["lib", "main", "mod"].contains(&stem) || path.is_empty() {
                file.parent().unwrap().to_path_buf()
            } else {
                file.parent().unwrap().join(stem)
            };
            for name in declared_modules(&code) {
                let file = [
                    dir.join(format!("{name}.rs")),
                    dir.join(&name).join("mod.rs"),
                ]
                .into_iter()
                .find(|f| f.is_file());
                if let Some(file) = file {
                    let mut child = path.clone();
                    child.push(name);
                    found.insert(child.clone(), file.clone());
                    todo.push((child, file));
                }
            }
        }
        found
    }

    /// The module files a file's code names.
    fn imports(modules: &BTreeMap<ModPath, PathBuf>, me: &ModPath, file: &Path) -> Vec<ModPath> {
        let code = code_of(&std::fs::read_to_string(file).unwrap());
        let children = declared_modules(&code);
        let mut out = Vec::new();
        for path in named_paths(&code, &children) {
            let path = path.split(" as ").next().unwrap_or_default();
            let mut segments: Vec<&str> = path.split("::").map(str::trim).collect();
            let mut base = me.clone();
            match segments.first().copied() {
                Some("crate") => {
                    base.clear();
                    segments.remove(0);
                }
                Some("super" | "self") => {
                    while let Some(s @ ("super" | "self")) = segments.first().copied() {
                        if s == "super" {
                            base.pop();
                        }
                        segments.remove(0);
                    }
                }
                Some(first) if children.iter().any(|c| c == first) => {}
                _ => continue,
            }
            let mut full = base;
            full.extend(
                segments
                    .iter()
                    .filter(|s| !s.is_empty() && **s != "*")
                    .map(|s| s.to_string()),
            );
            while !full.is_empty() && !modules.contains_key(&full) {
                full.pop();
            }
            if &full != me && !out.contains(&full) {
                out.push(full);
            }
        }
        out
    }

    #[test]
    fn no_file_imports_another_that_imports_it_back() {
        let root = root();
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join("crates"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        dirs.extend(["xtask", "benches", "fuzz"].map(|d| root.join(d)));
        dirs.sort();
        let mut circles = Vec::new();
        let mut files_seen = 0;
        for dir in dirs {
            let src = dir.join("src");
            let mut roots: Vec<PathBuf> = ["lib.rs", "main.rs"]
                .iter()
                .map(|r| src.join(r))
                .filter(|f| f.is_file())
                .collect();
            if let Ok(bins) = std::fs::read_dir(src.join("bin")) {
                roots.extend(bins.map(|e| e.unwrap().path()));
            }
            for root_file in roots {
                let modules = modules(&root_file);
                files_seen += modules.len();
                let names: Vec<&ModPath> = modules.keys().collect();
                let index = |m: &ModPath| names.iter().position(|n| *n == m).unwrap();
                let n = names.len();
                // Reachability by repeated relaxation (a crate has at most a few dozen files).
                let mut reach = vec![vec![false; n]; n];
                for (m, file) in &modules {
                    for to in imports(&modules, m, file) {
                        reach[index(m)][index(&to)] = true;
                    }
                }
                for k in 0..n {
                    let through = reach[k].clone();
                    for row in reach.iter_mut().filter(|row| row[k]) {
                        for (to, via) in row.iter_mut().zip(&through) {
                            *to |= via;
                        }
                    }
                }
                for i in 0..n {
                    if reach[i][i] {
                        circles.push(format!(
                            "{} ({}): {} is on a circle of imports",
                            dir.file_name().unwrap().to_string_lossy(),
                            root_file.file_name().unwrap().to_string_lossy(),
                            modules[names[i]].strip_prefix(&root).unwrap().display()
                        ));
                    }
                }
            }
        }
        assert!(files_seen > 100, "only {files_seen} files found");
        assert!(circles.is_empty(), "{}", circles.join("\n"));
    }

    #[test]
    fn a_circle_is_found() {
        // Two sibling files that import each other, and a parent and child that do.
        let dir = std::env::temp_dir().join(format!("instinct-circles-{}", std::process::id()));
        let src = dir.join("src");
        std::fs::create_dir_all(src.join("a")).unwrap();
        std::fs::write(src.join("lib.rs"), "mod a;\nmod b;\npub use b::B;\n").unwrap();
        std::fs::write(
            src.join("a.rs"),
            "mod child;\nuse child::C;\npub struct A;\n",
        )
        .unwrap();
        std::fs::write(src.join("a/child.rs"), "use super::A;\npub struct C;\n").unwrap();
        std::fs::write(src.join("b.rs"), "use crate::{a::A};\npub struct B;\n").unwrap();
        let modules = modules(&src.join("lib.rs"));
        assert_eq!(modules.len(), 4);
        let a = vec!["a".to_string()];
        let child = vec!["a".to_string(), "child".to_string()];
        assert_eq!(imports(&modules, &a, &modules[&a]), [child.as_slice()]);
        assert_eq!(imports(&modules, &child, &modules[&child]), [a.as_slice()]);
        let b = vec!["b".to_string()];
        assert_eq!(imports(&modules, &b, &modules[&b]), [a]);
        assert_eq!(imports(&modules, &vec![], &modules[&vec![]]), [b]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
