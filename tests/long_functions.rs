//! Size limits of the source (issue 17): no function in src/ runs over 150
//! lines unless the comment above it says why (the comment block directly
//! above the `fn`, doc or plain comments, attributes between, must contain
//! "over 150 lines"; the scan matches braces outside comments, strings and
//! char literals); no src file is over 800 lines; the example study's folder
//! (`src/studies/benign_regression/`, tests included) is under 500 lines.

use std::path::{Path, PathBuf};

const LIMIT: usize = 150;
const REASON: &str = "over 150 lines";

/// Every .rs file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The text with comments, string and char literals blanked out (newlines
/// kept, so line numbers stay), leaving only code braces.
fn code_only(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |out: &mut String, ch: char| out.push(if ch == '\n' { '\n' } else { ' ' });
    let mut i = 0;
    while i < c.len() {
        let next = c.get(i + 1).copied();
        if c[i] == '/' && next == Some('/') {
            while i < c.len() && c[i] != '\n' {
                blank(&mut out, c[i]);
                i += 1;
            }
        } else if c[i] == '/' && next == Some('*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, c[i]);
                    i += 1;
                }
            }
        } else if c[i] == 'r' && matches!(next, Some('"') | Some('#')) && !prev_is_ident(&c, i) {
            // A raw string r"..." or r#"..."#.
            let mut j = i + 1;
            let mut hashes = 0;
            while c.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if c.get(j) != Some(&'"') {
                out.push(c[i]);
                i += 1;
                continue;
            }
            j += 1;
            while j < c.len() {
                if c[j] == '"' && (0..hashes).all(|h| c.get(j + 1 + h) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            for &ch in &c[i..j.min(c.len())] {
                blank(&mut out, ch);
            }
            i = j;
        } else if c[i] == '"' {
            blank(&mut out, c[i]);
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    blank(&mut out, c[i]);
                    i += 1;
                }
                if i < c.len() {
                    blank(&mut out, c[i]);
                    i += 1;
                }
            }
            if i < c.len() {
                blank(&mut out, c[i]);
                i += 1;
            }
        } else if c[i] == '\'' && char_literal_len(&c, i).is_some() {
            let n = char_literal_len(&c, i).unwrap();
            for &ch in &c[i..i + n] {
                blank(&mut out, ch);
            }
            i += n;
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

fn prev_is_ident(c: &[char], i: usize) -> bool {
    i > 0 && (c[i - 1].is_alphanumeric() || c[i - 1] == '_')
}

/// The length of a char literal starting at `i` ('x', '\n', '\u{..}'), or
/// None for a lifetime ('a).
fn char_literal_len(c: &[char], i: usize) -> Option<usize> {
    match (c.get(i + 1), c.get(i + 2)) {
        (Some('\\'), _) => (i + 3..c.len().min(i + 12))
            .find(|&j| c[j] == '\'')
            .map(|j| j + 1 - i),
        (Some(_), Some('\'')) => Some(3),
        _ => None,
    }
}

/// (line of `fn`, body lines, name) of every function whose body runs over
/// `LIMIT` lines and whose comment does not give a reason.
fn long_functions(text: &str) -> Vec<(usize, usize, String)> {
    let code = code_only(text);
    let lines: Vec<&str> = text.lines().collect();
    let code_lines: Vec<&str> = code.lines().collect();
    let mut found = Vec::new();
    for (l, line) in code_lines.iter().enumerate() {
        let Some(at) = line
            .find("fn ")
            .filter(|&a| a == 0 || !prev_is_ident(&line.chars().collect::<Vec<_>>(), a))
        else {
            continue;
        };
        let name: String = line[at + 3..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() {
            continue;
        }
        // The body: from the first `{` after the signature (a `;` first means no body).
        let mut depth = 0usize;
        let (mut start, mut end) = (None, None);
        'scan: for (k, cl) in code_lines.iter().enumerate().skip(l) {
            let from = if k == l { at } else { 0 };
            for ch in cl[from..].chars() {
                match ch {
                    ';' if start.is_none() => break 'scan,
                    '{' => {
                        start.get_or_insert(k);
                        depth += 1;
                    }
                    '}' if start.is_some() => {
                        depth -= 1;
                        if depth == 0 {
                            end = Some(k);
                            break 'scan;
                        }
                    }
                    _ => {}
                }
            }
        }
        let (Some(s), Some(e)) = (start, end) else {
            continue;
        };
        let body = e - s + 1;
        if body <= LIMIT {
            continue;
        }
        let mut k = l;
        let mut reasoned = false;
        while k > 0 {
            k -= 1;
            let t = lines[k].trim_start();
            if t.starts_with("//") || t.starts_with("#[") {
                reasoned |= t.contains(REASON);
            } else {
                break;
            }
        }
        if !reasoned {
            found.push((l + 1, body, name));
        }
    }
    found
}

#[test]
fn no_function_runs_over_150_lines_without_a_reason() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    files.sort();
    let mut long = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for (line, body, name) in long_functions(&text) {
            let rel = f.strip_prefix(root).unwrap().display();
            long.push(format!("{rel}:{line}: fn {name} has {body} lines"));
        }
    }
    assert!(
        long.is_empty(),
        "functions over {LIMIT} lines whose comment does not say why (\"{REASON}\"):\n{}",
        long.join("\n")
    );
}

/// Every src file's line count, by path relative to the crate root.
fn line_counts(dir: &str) -> Vec<(String, usize)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join(dir), &mut files);
    files.sort();
    let count = |f: &PathBuf| std::fs::read_to_string(f).unwrap().lines().count();
    let rel = |f: &PathBuf| f.strip_prefix(root).unwrap().display().to_string();
    files.iter().map(|f| (rel(f), count(f))).collect()
}

#[test]
fn no_src_file_is_over_800_lines() {
    let long: Vec<String> = line_counts("src")
        .into_iter()
        .filter(|(_, lines)| *lines > 800)
        .map(|(f, lines)| format!("{f}: {lines} lines"))
        .collect();
    assert!(
        long.is_empty(),
        "src files over 800 lines:\n{}",
        long.join("\n")
    );
}

/// A new theorem is one folder under 500 lines: the worked example.
#[test]
fn the_example_study_folder_is_under_500_lines() {
    let files = line_counts("src/studies/benign_regression");
    let total: usize = files.iter().map(|(_, lines)| lines).sum();
    assert!(
        !files.is_empty(),
        "src/studies/benign_regression/ is missing"
    );
    assert!(
        total < 500,
        "src/studies/benign_regression/ has {total} lines: {files:?}"
    );
}

/// The scanner itself: braces in strings, chars and comments do not count,
/// a reason in the doc comment exempts, a declaration without body is skipped.
#[test]
fn the_scan_counts_code_braces_only() {
    let filler = "    let x = 1;\n".repeat(LIMIT);
    let long = format!("fn long() {{\n    let s = \"}}\"; let c = '}}'; // }}\n{filler}}}\n");
    assert_eq!(
        long_functions(&long),
        vec![(1, LIMIT + 3, "long".to_string())]
    );
    let reasoned = format!("/// One table, {REASON}: it reads in one pass.\n#[allow(x)]\n{long}");
    assert!(long_functions(&reasoned).is_empty());
    let short = "fn a<'a>(x: &'a str) -> &'a str {\n    x\n}\ntrait T { fn b(); }\n";
    assert!(long_functions(short).is_empty());
    let raw = format!("fn r() {{\n    let s = r#\"{{{{\"#;\n{filler}}}\n");
    assert_eq!(long_functions(&raw).len(), 1);
}
