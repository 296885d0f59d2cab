//! The transactions of one flow, as alerts report them: each gets its
//! number in the flow (Suricata's `tx_id`: an HTTP request and its response
//! share one), and an alert raised by a response also carries the fields of
//! the request it answers, as Suricata logs a transaction's request and
//! response together.

use super::Transaction;
use tripline_rules::Buffer;
use tripline_rules::header::AppProto;

/// Most bytes kept of one remembered request field.
pub(crate) const MAX_REQUEST_FIELD: usize = 256;

/// The request buffers a response's alert carries.
const REMEMBERED: [Buffer; 4] = [
    Buffer::HttpMethod,
    Buffer::HttpUriRaw,
    Buffer::HttpHost,
    Buffer::HttpUserAgent,
];

/// The fields of the oldest request not answered yet, each cut at
/// [`MAX_REQUEST_FIELD`] bytes, in one buffer reused for the flow's
/// requests (one allocation per flow, at most 1 KiB).
#[derive(Clone, Debug, Default)]
pub(crate) struct RequestFields {
    text: Vec<u8>,
    /// Per [`REMEMBERED`] buffer, its range in `text` when the request had it.
    spans: [Option<(u16, u16)>; REMEMBERED.len()],
}

impl RequestFields {
    /// The remembered content of `buffer` (method, raw URI, host, user
    /// agent), cut at [`MAX_REQUEST_FIELD`] bytes.
    pub(crate) fn get(&self, buffer: Buffer) -> Option<&[u8]> {
        let i = REMEMBERED.iter().position(|b| *b == buffer)?;
        let (from, to) = self.spans[i]?;
        self.text.get(usize::from(from)..usize::from(to))
    }

    fn remember(&mut self, tx: &Transaction<'_>) {
        self.text.clear();
        for (i, b) in REMEMBERED.iter().enumerate() {
            self.spans[i] = tx.buffers.get(*b).map(|v| {
                let kept = &v[..v.len().min(MAX_REQUEST_FIELD)];
                // At most 4 x MAX_REQUEST_FIELD bytes: fits in u16.
                let from = self.text.len() as u16;
                self.text.extend_from_slice(kept);
                (from, self.text.len() as u16)
            });
        }
    }
}

/// One flow's transactions so far: requests and responses counted apart
/// (the n-th response answers the n-th request), and the fields of the
/// oldest request still waiting for its response. Pipelined requests
/// behind it are counted but not remembered.
#[derive(Clone, Debug, Default)]
pub(crate) struct FlowTransactions {
    requests: u64,
    responses: u64,
    /// The number of the request whose fields `open` holds.
    open_tx: Option<u64>,
    open: RequestFields,
}

impl FlowTransactions {
    /// A new connection on the flow's addresses: numbering starts over
    /// (the remembered buffer is kept for reuse).
    pub(crate) fn restart(&mut self) {
        self.requests = 0;
        self.responses = 0;
        self.open_tx = None;
    }

    /// Numbers `tx` (sets its `tx_id`) and remembers a request's fields
    /// when no earlier request is waiting; TLS flows have one transaction.
    pub(crate) fn number(&mut self, tx: &mut Transaction<'_>) {
        if tx.proto != AppProto::Http {
            tx.tx_id = 0;
            return;
        }
        if tx.to_server {
            tx.tx_id = self.requests;
            self.requests += 1;
            if self.open_tx.is_none_or(|open| open < self.responses) {
                self.open.remember(tx);
                self.open_tx = Some(tx.tx_id);
            }
        } else {
            tx.tx_id = self.responses;
            self.responses += 1;
        }
    }

    /// The fields of the request a response numbered `tx_id` answers, when
    /// remembered.
    pub(crate) fn request_of(&self, tx_id: u64) -> Option<&RequestFields> {
        (self.open_tx == Some(tx_id)).then_some(&self.open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tripline_rules::matcher::Buffers;

    fn message(to_server: bool, method: &'static [u8]) -> Transaction<'static> {
        let mut buffers = Buffers::new();
        if to_server {
            buffers.set(Buffer::HttpMethod, method);
            buffers.set(Buffer::HttpUriRaw, b"/index.html");
        } else {
            buffers.set(Buffer::HttpStatCode, b"200");
        }
        Transaction {
            proto: AppProto::Http,
            to_server,
            buffers,
            tx_id: u64::MAX,
            request: None,
        }
    }

    #[test]
    fn a_response_shares_its_request_number_and_fields() {
        let mut f = FlowTransactions::default();
        let mut req = message(true, b"GET");
        f.number(&mut req);
        let mut pipelined = message(true, b"POST");
        f.number(&mut pipelined);
        assert_eq!((req.tx_id, pipelined.tx_id), (0, 1));
        let mut resp = message(false, b"");
        f.number(&mut resp);
        assert_eq!(resp.tx_id, 0);
        let fields = f.request_of(resp.tx_id).expect("request remembered");
        assert_eq!(fields.get(Buffer::HttpMethod), Some(&b"GET"[..]));
        assert_eq!(fields.get(Buffer::HttpUriRaw), Some(&b"/index.html"[..]));
        assert_eq!(fields.get(Buffer::HttpHost), None);
        // The pipelined request was not remembered: its response has none.
        let mut second = message(false, b"");
        f.number(&mut second);
        assert_eq!(second.tx_id, 1);
        assert!(f.request_of(1).is_none());
        // The next request is remembered again; a restart numbers anew.
        let mut third = message(true, b"HEAD");
        f.number(&mut third);
        assert_eq!(third.tx_id, 2);
        assert!(f.request_of(2).is_some());
        f.restart();
        let mut first = message(true, b"GET");
        f.number(&mut first);
        assert_eq!(first.tx_id, 0);
    }

    #[test]
    fn remembered_fields_are_bounded() {
        static LONG: [u8; 5000] = [b'a'; 5000];
        let long: &'static [u8] = &LONG;
        let mut f = FlowTransactions::default();
        let mut req = message(true, b"GET");
        req.buffers.set(Buffer::HttpUriRaw, long);
        req.buffers.set(Buffer::HttpHost, long);
        req.buffers.set(Buffer::HttpUserAgent, long);
        f.number(&mut req);
        let fields = f.request_of(0).expect("remembered");
        for b in [Buffer::HttpUriRaw, Buffer::HttpHost, Buffer::HttpUserAgent] {
            assert_eq!(fields.get(b).map(<[u8]>::len), Some(MAX_REQUEST_FIELD));
        }
        let mut tls = Transaction {
            proto: AppProto::Tls,
            ..message(true, b"")
        };
        f.number(&mut tls);
        assert_eq!(tls.tx_id, 0);
    }
}
