//! Anthropic `document` and `search_result` blocks (in a message or inside a
//! `tool_result`) as canonical blocks. An Anthropic upstream gets the client's
//! body verbatim, so everything the API takes is accepted; what the others get:
//! - a PDF, as base64 or by URL, stays a document (`title` and `context` kept);
//! - a text document (a `text` or `content` source) becomes text blocks headed
//!   by its title and context, so the model still sees which document it reads;
//! - a search result becomes text: its title, source, then its content;
//! - a document by file id (the Files API) or of a media type other than PDF
//!   is deferred (`ChatRequest::untranslatable`): the 400 of every other upstream;
//! - `citations` is checked and dropped: only Anthropic answers with citations,
//!   and without them the answer says the same.

use serde_json::Value;

use super::path::{join, type_name};
use super::Fields;
use crate::canonical::{document_header, ContentBlock, DocumentSource, PDF};
use crate::{Error, Result};

/// Block types a `content` document source holds.
const CONTENT_SOURCE_BLOCKS: &[&str] = &["text", "image"];

/// The Messages block parser (`anthropic::parse_block`), for the blocks a
/// `content` source holds; passed in, so the two modules do not import each other.
pub(super) type ParseBlock =
    fn(&Value, &str, &[&str], &mut Option<Error>, &mut Vec<ContentBlock>) -> Result<()>;

/// A `document` block, appended to `out` as zero or more blocks.
pub(super) fn document(
    f: &Fields<'_>,
    deferred: &mut Option<Error>,
    out: &mut Vec<ContentBlock>,
    parse_block: ParseBlock,
) -> Result<()> {
    let title = f.str("title")?;
    let context = f.str("context")?;
    citations(f)?;
    let cache_control = f.get("cache_control").cloned();
    let mut buf = String::new();
    let src = f
        .object("source", &mut buf)?
        .ok_or_else(|| f.missing("source"))?;
    let kind = src
        .one_of("type", &["base64", "url", "text", "content", "file"])?
        .ok_or_else(|| src.missing("type"))?;
    let pdf = |source| ContentBlock::Document {
        source,
        title: title.map(str::to_owned),
        context: context.map(str::to_owned),
        cache_control: cache_control.clone(),
    };
    match kind {
        "base64" => {
            let media_type = src.req_str("media_type")?;
            let data = src.req_str("data")?;
            super::inline::check_data(data, &src.path_of("data"), "the document")?;
            if media_type != PDF {
                deferred.get_or_insert(Error::invalid_field(
                    src.path_of("media_type"),
                    format!("a document of type {media_type:?} can be sent only to an Anthropic upstream; the others read PDFs ({PDF})"),
                ));
                return Ok(());
            }
            out.push(pdf(DocumentSource::Base64 {
                media_type: media_type.to_owned(),
                data: data.to_owned(),
            }));
        }
        "url" => out.push(pdf(DocumentSource::Url {
            url: src.req_str("url")?.to_owned(),
            field: src.path_of("url"),
        })),
        "text" => {
            src.req_str("media_type")?;
            let data = src.req_str("data")?;
            let text = match document_header(title, context) {
                Some(header) => format!("{header}\n\n{data}"),
                None => data.to_owned(),
            };
            push_text(out, text, cache_control);
        }
        "content" => {
            let start = out.len();
            if let Some(header) = document_header(title, context) {
                out.push(ContentBlock::text(header));
            }
            content_source(&src, deferred, out, parse_block)?;
            // The breakpoint goes where the document ends.
            if let (Some(cc), true) = (cache_control, out.len() > start) {
                set_cache_control(out.last_mut(), cc);
            }
        }
        _ => {
            src.req_str("file_id")?;
            deferred.get_or_insert(Error::invalid_field(
                src.path_of("file_id"),
                "a document by file id can be sent only to an Anthropic upstream (the file is in its Files API); send the PDF inline as base64",
            ));
        }
    }
    Ok(())
}

/// A `search_result` block, as one text block.
pub(super) fn search_result(f: &Fields<'_>, out: &mut Vec<ContentBlock>) -> Result<()> {
    let source = f.req_str("source")?;
    let title = f.req_str("title")?;
    citations(f)?;
    let path = f.path_of("content");
    let mut texts = Vec::new();
    for (i, b) in f.req_array("content")?.iter().enumerate() {
        let block_path = join(&path, i);
        let t = Fields::of(b, &block_path)?;
        t.one_of("type", &["text"])?
            .ok_or_else(|| t.missing("type"))?;
        texts.push(t.req_str("text")?.to_owned());
    }
    let text = format!(
        "Search result: {title}\nSource: {source}\n\n{}",
        texts.join("\n\n")
    );
    push_text(out, text, f.get("cache_control").cloned());
    Ok(())
}

/// `citations`: `{"enabled": bool}` when present.
fn citations(f: &Fields<'_>) -> Result<()> {
    let mut buf = String::new();
    if let Some(c) = f.object("citations", &mut buf)? {
        c.bool("enabled")?;
    }
    Ok(())
}

/// A `content` source's `content`: a string, or text and image blocks.
fn content_source(
    src: &Fields<'_>,
    deferred: &mut Option<Error>,
    out: &mut Vec<ContentBlock>,
    parse_block: ParseBlock,
) -> Result<()> {
    let path = src.path_of("content");
    match src.get("content") {
        None => Err(src.missing("content")),
        Some(Value::String(s)) => {
            push_text(out, s.clone(), None);
            Ok(())
        }
        Some(Value::Array(blocks)) => {
            for (i, b) in blocks.iter().enumerate() {
                parse_block(b, &join(&path, i), CONTENT_SOURCE_BLOCKS, deferred, out)?;
            }
            Ok(())
        }
        Some(other) => Err(Error::invalid_field(
            path,
            format!("expected a string or an array, got {}", type_name(other)),
        )),
    }
}

/// A text block unless the text is empty (Messages refuses empty text blocks).
fn push_text(out: &mut Vec<ContentBlock>, text: String, cache_control: Option<Value>) {
    if !text.is_empty() {
        out.push(ContentBlock::Text {
            text,
            cache_control,
        });
    }
}

fn set_cache_control(block: Option<&mut ContentBlock>, cc: Value) {
    if let Some(
        ContentBlock::Text { cache_control, .. } | ContentBlock::Image { cache_control, .. },
    ) = block
    {
        *cache_control = Some(cc);
    }
}
