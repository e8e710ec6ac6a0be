//! What the translating upstreams share when they render a document: the
//! file name and data URL the OpenAI APIs want, and the text that carries a
//! context they have no slot for.

use crate::canonical::document_header;

/// The `filename` of an inline PDF: its title, ending in `.pdf` (OpenAI refuses
/// inline file data without a name, and reads the type from it).
pub fn pdf_filename(title: Option<&str>) -> String {
    match title {
        None => "document.pdf".to_owned(),
        Some(t) if t.to_ascii_lowercase().ends_with(".pdf") => t.to_owned(),
        Some(t) => format!("{t}.pdf"),
    }
}

pub fn data_url(media_type: &str, data: &str) -> String {
    format!("data:{media_type};base64,{data}")
}

/// The text sent ahead of a document whose `context` the API cannot carry
/// (none without one: the file name already says which document it is).
pub fn context_text(title: Option<&str>, context: Option<&str>) -> Option<String> {
    context.and_then(|c| document_header(title, Some(c)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_end_in_pdf() {
        assert_eq!(pdf_filename(None), "document.pdf");
        assert_eq!(pdf_filename(Some("Q3.PDF")), "Q3.PDF");
        assert_eq!(pdf_filename(Some("Q3 report")), "Q3 report.pdf");
        assert_eq!(context_text(Some("a"), None), None);
        assert_eq!(
            context_text(Some("a"), Some("from 2024")).as_deref(),
            Some("Document: a\nContext: from 2024")
        );
    }
}
