//! Poppler's `pdftotext` and `pdfinfo` (Debian package poppler-utils) read
//! the PDFs under test. Without them the tests fail and say so; they never
//! pass without having looked at a PDF.

use std::io::Write;
use std::process::{Command, Stdio};

fn tool(name: &str) -> String {
    match Command::new(name).arg("-v").output() {
        Ok(_) => name.to_string(),
        Err(e) => panic!(
            "`{name}` is not installed ({e}); these tests need poppler-utils to check the PDF \
             (apt-get install poppler-utils)"
        ),
    }
}

/// Runs a poppler tool on the PDF given on stdin; returns stdout, failing on any complaint.
pub fn run(name: &str, args: &[&str], pdf: &[u8]) -> String {
    let mut child = Command::new(tool(name))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {name}: {e}"));
    child
        .stdin
        .take()
        .unwrap_or_else(|| panic!("{name} has no stdin"))
        .write_all(pdf)
        .unwrap_or_else(|e| panic!("writing to {name}: {e}"));
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("running {name}: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{name} failed: {stderr}");
    assert!(
        stderr.trim().is_empty(),
        "{name} complained about the PDF: {stderr}"
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn words(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
