//! Text placed into HTML the server writes by hand (e-mail bodies, lesson
//! text), where no template engine escapes it.

/// Escapes the five characters that matter in HTML text and attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_quotes_become_entities() {
        assert_eq!(
            escape(r#"<a href="x">Қ & 'y'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Қ &amp; &#39;y&#39;&lt;/a&gt;"
        );
    }
}
