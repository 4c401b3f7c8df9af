//! Results too big for a transport's frame budget (#22): the whole result is
//! held here, per caller, and the tool answers with a preview and a
//! `resource_link` to it; `resources/read` returns it in pages that each fit
//! the budget.
//!
//! Held in the state store (`state`): in memory by default, or shared by
//! replicas; bounded, each for a TTL. A result is readable only by the
//! caller it was made for: the owner key is the OAuth subject, the static
//! token's caller, or the stdio session. One record per result: `meta`
//! (media type, size, pages) and one field per page (`p1`, `p2`, …), so a
//! page read fetches that page only.
//!
//! Input: a result's text (already redacted) and its media type. Output: a
//! link (`mcpgen://results/<id>`, 128 random bits), and pages by number.

use std::time::Duration;

use super::{Kind, Store, StoreError, random_id};

use base64::Engine;

/// The URI scheme and prefix of held results.
pub const RESULT_URI_PREFIX: &str = "mcpgen://results/";

/// What a result's `meta` field holds.
#[derive(serde::Serialize, serde::Deserialize)]
struct Meta {
    media_type: String,
    /// The pages are base64 of binary content, read back as blobs.
    blob: bool,
    size: usize,
    pages: usize,
}

/// A held result, as the tool's answer describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub uri: String,
    /// Bytes of the result (decoded, for binary content).
    pub size: usize,
    pub pages: usize,
    pub media_type: String,
}

/// One page of a held result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub uri: String,
    /// The page's text, or base64 of its bytes when `blob`.
    pub text: String,
    pub blob: bool,
    pub media_type: String,
    /// 1-based, of `pages`.
    pub number: usize,
    pub pages: usize,
    /// The next page's URI, when there is one.
    pub next: Option<String>,
}

/// Why a read found nothing: the model can act on each differently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    /// Not held (expired, evicted, restarted, another caller's, or never made).
    Gone,
    /// Held, but it has fewer pages.
    NoSuchPage { pages: usize },
    /// Not a URI of this store.
    NotOurs,
    /// The store did not answer: held or not, it can't be read now.
    Unavailable(String),
}

impl From<StoreError> for Missing {
    fn from(error: StoreError) -> Missing {
        tracing::warn!("a held result could not be read: {}", error.detail());
        Missing::Unavailable(error.to_string())
    }
}

/// Results held for their callers, on the server's state store.
#[derive(Clone)]
pub struct ResultStore {
    store: Store,
}

impl ResultStore {
    pub fn new(store: Store) -> ResultStore {
        ResultStore { store }
    }

    /// How long a result stays readable.
    pub fn ttl(&self) -> Duration {
        self.store.limits(Kind::Result).ttl
    }

    /// Where results are held, in words for clients.
    pub fn describe(&self) -> &'static str {
        self.store.describe()
    }

    /// Holds `text` for `owner`, split into pages of at most `page_bytes`.
    /// `Ok(None)` when it is bigger than the store may hold.
    pub async fn put(
        &self,
        owner: &str,
        media_type: &str,
        text: String,
        page_bytes: usize,
    ) -> Result<Option<Link>, StoreError> {
        self.hold(owner, media_type, text, page_bytes, false).await
    }

    /// Holds binary content given as base64, in pages of whole base64 quads
    /// (each decodes on its own) of at most `page_bytes`.
    pub async fn put_blob(
        &self,
        owner: &str,
        media_type: &str,
        base64: String,
        page_bytes: usize,
    ) -> Result<Option<Link>, StoreError> {
        self.hold(owner, media_type, base64, page_bytes / 4 * 4, true).await
    }

    async fn hold(
        &self,
        owner: &str,
        media_type: &str,
        text: String,
        page_bytes: usize,
        blob: bool,
    ) -> Result<Option<Link>, StoreError> {
        if page_bytes == 0 {
            return Ok(None);
        }
        // Without randomness no id can be unguessable: the caller cuts instead.
        let id = random_id().ok_or(StoreError::NoRandomness)?;
        let starts = page_starts(&text, page_bytes);
        // Base64 without padding inside: 3 bytes per 4 characters, less the padding.
        let size = if blob {
            text.len() / 4 * 3 - text.bytes().rev().take_while(|&b| b == b'=').count()
        } else {
            text.len()
        };
        let meta = Meta {
            media_type: media_type.to_string(),
            blob,
            size,
            pages: starts.len(),
        };
        let mut fields = Vec::with_capacity(starts.len() + 1);
        fields.push(("meta".to_string(), serde_json::to_vec(&meta).unwrap_or_default()));
        for (n, start) in starts.iter().enumerate() {
            let end = starts.get(n + 1).copied().unwrap_or(text.len());
            fields.push((format!("p{}", n + 1), text.as_bytes()[*start..end].to_vec()));
        }
        if !self.store.put(Kind::Result, owner, &id, fields).await? {
            return Ok(None);
        }
        Ok(Some(Link {
            uri: format!("{RESULT_URI_PREFIX}{id}"),
            size,
            pages: meta.pages,
            media_type: meta.media_type,
        }))
    }

    /// Page `number` (1-based) of the result at `uri` (`…/<id>` is page 1,
    /// `…/<id>/pages/<n>` page n), for `owner`.
    pub async fn read(&self, owner: &str, uri: &str) -> Result<Page, Missing> {
        let rest = uri.strip_prefix(RESULT_URI_PREFIX).ok_or(Missing::NotOurs)?;
        let (id, number) = match rest.split_once("/pages/") {
            Some((id, n)) => (id, n.parse::<usize>().map_err(|_| Missing::NotOurs)?),
            None => (rest, 1),
        };
        let page = format!("p{number}");
        // Another caller's result is as absent as an expired one: no oracle.
        let mut values = self
            .store
            .get(Kind::Result, owner, id, &["meta", &page])
            .await?
            .ok_or(Missing::Gone)?;
        let meta = meta_of(values[0].as_deref())?;
        let text = match values[1].take() {
            Some(text) if number > 0 => String::from_utf8(text).map_err(|_| Missing::Gone)?,
            _ => return Err(Missing::NoSuchPage { pages: meta.pages }),
        };
        Ok(Page {
            uri: page_uri(id, number),
            text,
            blob: meta.blob,
            media_type: meta.media_type,
            number,
            pages: meta.pages,
            next: (number < meta.pages).then(|| page_uri(id, number + 1)),
        })
    }

    /// All of the result at `uri` (its link or one of its pages) for `owner`,
    /// as bytes (decoded when binary), with its media type: a download sent
    /// on as a file (`files`).
    pub async fn whole(&self, owner: &str, uri: &str) -> Result<(Vec<u8>, String), Missing> {
        let rest = uri.strip_prefix(RESULT_URI_PREFIX).ok_or(Missing::NotOurs)?;
        let id = rest.split_once("/pages/").map_or(rest, |(id, _)| id);
        let values = self
            .store
            .get(Kind::Result, owner, id, &["meta"])
            .await?
            .ok_or(Missing::Gone)?;
        let meta = meta_of(values[0].as_deref())?;
        let names: Vec<String> = std::iter::once("meta".to_string())
            .chain((1..=meta.pages).map(|n| format!("p{n}")))
            .collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let values = self
            .store
            .get(Kind::Result, owner, id, &names)
            .await?
            .ok_or(Missing::Gone)?;
        let mut text = Vec::with_capacity(meta.size);
        for page in values.into_iter().skip(1) {
            // A page gone while the rest is held (evicted between reads): all of it is.
            text.extend(page.ok_or(Missing::Gone)?);
        }
        let bytes = if meta.blob {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|_| Missing::NotOurs)?
        } else {
            text
        };
        Ok((bytes, meta.media_type))
    }
}

fn meta_of(value: Option<&[u8]>) -> Result<Meta, Missing> {
    value.and_then(|v| serde_json::from_slice(v).ok()).ok_or(Missing::Gone)
}

fn page_uri(id: &str, number: usize) -> String {
    format!("{RESULT_URI_PREFIX}{id}/pages/{number}")
}

/// Byte offsets of pages whose text, as a JSON string, takes at most
/// `page_bytes` (a quote or backslash costs 2 bytes there, a control
/// character up to 6), each starting on a char boundary; a page is never empty.
fn page_starts(text: &str, page_bytes: usize) -> Vec<usize> {
    let mut starts = vec![0];
    let mut used = 0;
    for (at, c) in text.char_indices() {
        let cost = escaped_len(c);
        if used + cost > page_bytes && used > 0 {
            starts.push(at);
            used = 0;
        }
        used += cost;
    }
    starts
}

/// A char's bytes in a JSON string, as serde_json writes it.
fn escaped_len(c: char) -> usize {
    match c {
        '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
        c if (c as u32) < 0x20 => 6,
        c => c.len_utf8(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn in_memory(max_bytes: usize, max_entries: usize, ttl: Duration) -> ResultStore {
        let limits = crate::state::Limits {
            max_entries,
            max_bytes,
            ttl,
        };
        ResultStore::new(Store::memory(limits, limits))
    }

    fn store() -> ResultStore {
        in_memory(1000, 3, Duration::from_secs(60))
    }

    #[tokio::test]
    async fn a_held_result_reads_back_in_pages_that_fit_only_for_its_owner() {
        let store = store();
        let text = "é".repeat(100); // 200 bytes, 2-byte chars
        let link = store
            .put("alice", "application/json", text.clone(), 33)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((link.size, link.pages), (200, 7));
        let mut joined = String::new();
        let mut uri = link.uri.clone();
        loop {
            let page = store.read("alice", &uri).await.unwrap();
            assert!(page.text.len() <= 33 && !page.text.is_empty());
            joined.push_str(&page.text);
            match page.next {
                Some(next) => uri = next,
                None => break,
            }
        }
        assert_eq!(joined, text);
        assert_eq!(store.read("bob", &link.uri).await, Err(Missing::Gone));
        assert_eq!(
            store.read("alice", &format!("{}/pages/9", link.uri)).await,
            Err(Missing::NoSuchPage { pages: 7 })
        );
        assert_eq!(
            store.read("alice", "https://example.com/x").await,
            Err(Missing::NotOurs)
        );
    }

    #[tokio::test]
    async fn pages_fit_as_json_strings_whatever_they_hold() {
        let store = store();
        let text = "a\"b\\c\u{1}d\né".repeat(20);
        let link = store.put("a", "text/plain", text.clone(), 16).await.unwrap().unwrap();
        let mut joined = String::new();
        for n in 1..=link.pages {
            let page = store.read("a", &format!("{}/pages/{n}", link.uri)).await.unwrap();
            let escaped = serde_json::to_string(&page.text).unwrap().len() - 2;
            assert!(escaped <= 16 && !page.text.is_empty(), "{escaped}: {:?}", page.text);
            joined.push_str(&page.text);
        }
        assert_eq!(joined, text);
    }

    #[tokio::test]
    async fn the_store_stays_within_its_bounds_evicting_the_oldest() {
        let store = store();
        let mut links = Vec::new();
        for i in 0..4 {
            links.push(
                store
                    .put("a", "text/plain", format!("{i}").repeat(250), 100)
                    .await
                    .unwrap()
                    .unwrap(),
            );
        }
        // 4 × 250 bytes (and their meta) > 1000 and > 3 entries: the first is gone, the rest readable.
        assert_eq!(store.read("a", &links[0].uri).await, Err(Missing::Gone));
        for link in &links[1..] {
            assert!(store.read("a", &link.uri).await.is_ok());
        }
        assert!(
            store
                .put("a", "text/plain", "x".repeat(1001), 100)
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn expired_results_are_gone() {
        let store = in_memory(1000, 3, Duration::from_millis(1));
        let link = store.put("a", "text/plain", "x".into(), 10).await.unwrap().unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(store.read("a", &link.uri).await, Err(Missing::Gone));
    }
}
