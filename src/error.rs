//! The error kinds a run can end in, each tied to the process exit code the
//! CLI contract promises (README, "Exit codes"): 2 bad input, 3 numerical
//! failure.

use std::path::Path;

/// Everything a library call can fail with. The CLI maps each variant to
/// its exit code; the message is always one line that names the file, key
/// or quantity at fault.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A spec, a data file or an argument is wrong (exit 2).
    #[error("{0}")]
    BadInput(String),
    /// A NaN or inf appeared in training (exit 3).
    #[error("{0}")]
    Numerical(String),
    /// Writing results failed (exit 2: the output location is bad input).
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// The process exit code this error maps to.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::BadInput(_) | Error::Io { .. } => 2,
            Error::Numerical(_) => 3,
        }
    }

    pub fn bad(msg: impl Into<String>) -> Self {
        Error::BadInput(msg.into())
    }

    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// The longest stretch without spaces an error line shows whole (a value or
/// a path); longer ones are cut in the middle.
pub const MAX_WORD: usize = 200;

/// A message as the one line the CLI prints: control characters escaped
/// (a newline or an escape sequence in a path or value cannot break the
/// line or the terminal), and every word longer than `MAX_WORD` characters
/// cut to its start and end with the count of characters left out.
pub fn one_line(message: &str) -> String {
    let mut escaped = String::with_capacity(message.len());
    for c in message.chars() {
        if c.is_control() {
            escaped.extend(c.escape_default());
        } else {
            escaped.push(c);
        }
    }
    escaped
        .split(' ')
        .map(|word| {
            let chars: Vec<char> = word.chars().collect();
            if chars.len() <= MAX_WORD {
                return word.to_string();
            }
            let keep = MAX_WORD / 2;
            let head: String = chars[..keep].iter().collect();
            let tail: String = chars[chars.len() - keep..].iter().collect();
            format!("{head}...[{} characters]...{tail}", chars.len() - 2 * keep)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_become_one_bounded_line() {
        assert_eq!(one_line("a.toml: bad\nkey"), "a.toml: bad\\nkey");
        assert_eq!(one_line("x\ny\t\u{1b}[31m"), "x\\ny\\t\\u{1b}[31m");
        let long = "v".repeat(1000);
        let line = one_line(&format!("key `a` = {long}: too long"));
        assert!(
            line.starts_with("key `a` = vvv") && line.ends_with("vvv: too long"),
            "{line}"
        );
        assert!(line.contains("[801 characters]"), "{line}");
        assert!(line.len() < 260, "{}", line.len());
        assert_eq!(one_line("plain message"), "plain message");
    }
}
