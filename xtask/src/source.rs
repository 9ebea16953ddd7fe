//! Reading Rust source as the hygiene tests need it: a file's own code (before its inline test
//! module) and that code with comments and literals blanked, so that what looks like a path or
//! a declaration is one.

/// The lines of `text` before its inline test module: a `#[cfg(test)]` line at column 0 followed
/// by a `mod name {` line. (`#[cfg(test)] mod support;` and other test-only items do not end a
/// file's own code.)
pub(crate) fn own_code(text: &str) -> Vec<&str> {
    let lines: Vec<&str> = text.lines().collect();
    let end = (0..lines.len())
        .find(|&i| {
            lines[i].starts_with("#[cfg(test)]")
                && lines
                    .get(i + 1)
                    .is_some_and(|next| opens_inline_module(next))
        })
        .unwrap_or(lines.len());
    lines[..end].to_vec()
}

/// Whether `line` opens an inline module at column 0: `mod tests {`, `pub(crate) mod x {`.
fn opens_inline_module(line: &str) -> bool {
    let words: Vec<&str> = line.split_whitespace().collect();
    let words = match words.first() {
        Some(w) if w.starts_with("pub") => &words[1..],
        _ => &words[..],
    };
    matches!(words, ["mod", _, "{", ..])
        || matches!(words, ["mod", name, ..] if name.ends_with('{'))
}

/// `code` with comments (nested ones too) removed and string, raw-string and character
/// literals replaced by empty ones; line breaks are kept.
pub(crate) fn blank_comments_and_literals(code: &str) -> String {
    let chars: Vec<char> = code.chars().collect();
    let mut out = String::with_capacity(code.len());
    let mut i = 0;
    let at = |i: usize, s: &str| chars[i..].starts_with(&s.chars().collect::<Vec<_>>());
    while i < chars.len() {
        let c = chars[i];
        if at(i, "//") {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if at(i, "/*") {
            let mut depth = 0;
            while i < chars.len() {
                if at(i, "/*") {
                    depth += 1;
                    i += 2;
                } else if at(i, "*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if chars[i] == '\n' {
                        out.push('\n');
                    }
                    i += 1;
                }
            }
            out.push(' ');
        } else if (c == 'r' || (c == 'b' && chars.get(i + 1) == Some(&'r')))
            && (i == 0 || !is_ident(chars[i - 1]))
            && raw_string_hashes(&chars, i + usize::from(c == 'b') + 1).is_some()
        {
            // r"…", r#"…"#, br"…": ends at a quote followed by as many hashes.
            let start = i + usize::from(c == 'b') + 1;
            let hashes = raw_string_hashes(&chars, start).unwrap_or_default();
            i = start + hashes + 1;
            let close: Vec<char> = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            while i < chars.len() && !chars[i..].starts_with(&close) {
                if chars[i] == '\n' {
                    out.push('\n');
                }
                i += 1;
            }
            i += close.len();
            out.push_str("\"\"");
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\n' {
                    out.push('\n');
                }
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && char_literal_len(&chars, i).is_some() {
            i += char_literal_len(&chars, i).unwrap_or(1);
            out.push_str("' '");
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// The number of `#` of a raw string whose `#`s start at `at` (`r` already read), if a quote
/// follows them.
fn raw_string_hashes(chars: &[char], at: usize) -> Option<usize> {
    let hashes = chars[at.min(chars.len())..]
        .iter()
        .take_while(|c| **c == '#')
        .count();
    (chars.get(at + hashes) == Some(&'"')).then_some(hashes)
}

/// The length of the character literal at `at` (`'x'`, `'\n'`, `'\''`, `'\u{1F600}'`), or
/// `None` for a lifetime or label (`'a`, `'static`).
fn char_literal_len(chars: &[char], at: usize) -> Option<usize> {
    match chars.get(at + 1)? {
        '\\' => {
            let end = (at + 3..chars.len().min(at + 14)).find(|&j| chars[j] == '\'')?;
            Some(end - at + 1)
        }
        _ => (chars.get(at + 2) == Some(&'\'')).then_some(3),
    }
}

/// Appends the `.rs` files under `dir` (not under a `target` folder) to `out`.
pub(crate) fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
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

/// Whether `c` can be part of an identifier.
pub(crate) fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_comments_are_blanked() {
        let code = "let a = r#\"x\"y\"#; let b = '\\''; let c = '\"'; /* a /* b */ c */ d // e\nf";
        let blanked = blank_comments_and_literals(code);
        assert_eq!(blanked, "let a = \"\"; let b = ' '; let c = ' ';   d \nf");
        assert_eq!(
            blank_comments_and_literals("fn f<'a>(x: &'a str) -> &'static str { \"//\" }"),
            "fn f<'a>(x: &'a str) -> &'static str { \"\" }"
        );
    }

    #[test]
    fn own_code_ends_at_the_test_module_only() {
        let text = "mod a;\n#[cfg(test)]\nmod support;\nfn f() {}\n#[cfg(test)]\nmod tests {\n}\n";
        assert_eq!(own_code(text).len(), 4);
        assert_eq!(own_code("fn f() {}\n").len(), 1);
    }
}
