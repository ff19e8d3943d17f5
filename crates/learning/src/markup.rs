//! Lesson text: a small, safe subset of Markdown rendered on the server.
//! Everything the school typed is escaped first, so no HTML of theirs ever
//! reaches a student's browser; only the markup below becomes tags.
//!
//! - `# `, `## ` and `### ` start headings;
//! - lines starting with `- ` or `* ` make a list;
//! - an empty line separates paragraphs;
//! - `**bold**`, `*italic*` and `[text](https://…)` inside a line
//!   (links only to `http://` and `https://`, opened without a referrer).

use tabys_core::html::escape;

/// The lesson text as HTML.
pub fn to_html(src: &str) -> String {
    let mut out = String::new();
    let mut para: Vec<String> = Vec::new();
    let mut list: Vec<String> = Vec::new();
    let flush_para = |para: &mut Vec<String>, out: &mut String| {
        if !para.is_empty() {
            out.push_str("<p>");
            out.push_str(&para.join("<br>"));
            out.push_str("</p>\n");
            para.clear();
        }
    };
    let flush_list = |list: &mut Vec<String>, out: &mut String| {
        if !list.is_empty() {
            out.push_str("<ul>");
            for item in list.iter() {
                out.push_str("<li>");
                out.push_str(item);
                out.push_str("</li>");
            }
            out.push_str("</ul>\n");
            list.clear();
        }
    };
    for line in src.lines() {
        let t = line.trim_end();
        let trimmed = t.trim_start();
        if trimmed.is_empty() {
            flush_para(&mut para, &mut out);
            flush_list(&mut list, &mut out);
            continue;
        }
        let heading = [("### ", "h4"), ("## ", "h3"), ("# ", "h2")]
            .into_iter()
            .find_map(|(p, tag)| trimmed.strip_prefix(p).map(|rest| (tag, rest)));
        if let Some((tag, rest)) = heading {
            flush_para(&mut para, &mut out);
            flush_list(&mut list, &mut out);
            out.push_str(&format!("<{tag}>{}</{tag}>\n", inline(rest.trim())));
            continue;
        }
        if let Some(item) = trimmed
            .strip_prefix("- ")
            .or_else(|| trimmed.strip_prefix("* "))
        {
            flush_para(&mut para, &mut out);
            list.push(inline(item.trim()));
            continue;
        }
        flush_list(&mut list, &mut out);
        para.push(inline(trimmed));
    }
    flush_para(&mut para, &mut out);
    flush_list(&mut list, &mut out);
    out
}

/// Bold, italic and links inside one line; the rest is escaped text.
fn inline(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '*' && chars.get(i + 1) == Some(&'*') {
            if let Some(end) = find(&chars, i + 2, "**") {
                let inner: String = chars[i + 2..end].iter().collect();
                out.push_str(&format!("<strong>{}</strong>", escape(&inner)));
                i = end + 2;
                continue;
            }
        } else if chars[i] == '*'
            && let Some(end) = find(&chars, i + 1, "*")
            && end > i + 1
        {
            let inner: String = chars[i + 1..end].iter().collect();
            out.push_str(&format!("<em>{}</em>", escape(&inner)));
            i = end + 1;
            continue;
        } else if chars[i] == '['
            && let Some(close) = find(&chars, i + 1, "](")
            && let Some(end) = find(&chars, close + 2, ")")
        {
            let label: String = chars[i + 1..close].iter().collect();
            let url: String = chars[close + 2..end].iter().collect();
            let url = url.trim();
            if (url.starts_with("https://") || url.starts_with("http://"))
                && !url.contains(char::is_whitespace)
            {
                out.push_str(&format!(
                    "<a href=\"{}\" rel=\"noopener noreferrer nofollow\" target=\"_blank\">{}</a>",
                    escape(url),
                    escape(&label)
                ));
                i = end + 1;
                continue;
            }
        }
        out.push_str(&escape(&chars[i].to_string()));
        i += 1;
    }
    out
}

fn find(chars: &[char], from: usize, pat: &str) -> Option<usize> {
    let p: Vec<char> = pat.chars().collect();
    (from..chars.len()).find(|&j| chars[j..].starts_with(&p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_typed_by_the_school_is_shown_as_text() {
        let html = to_html("<script>alert(1)</script>\n**<b>x</b>**");
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;"));
        assert!(html.contains("<strong>&lt;b&gt;x&lt;/b&gt;</strong>"));
    }

    #[test]
    fn only_web_links_become_links() {
        let html = to_html("[ok](https://lessbek.kz) [bad](javascript:alert(1))");
        assert!(html.contains("<a href=\"https://lessbek.kz\""));
        assert!(!html.contains("href=\"javascript"));
    }

    #[test]
    fn headings_lists_and_paragraphs() {
        let html = to_html("# Сабақ\n\nБірінші жол\nекінші\n\n- бір\n- екі");
        assert_eq!(
            html,
            "<h2>Сабақ</h2>\n<p>Бірінші жол<br>екінші</p>\n<ul><li>бір</li><li>екі</li></ul>\n"
        );
    }
}
