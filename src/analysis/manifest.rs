//! Checking a capture against a manifest of what a producer sent and what came back
//! (`rmqdump verify CAPTURE --manifest M`). Manifests are those `rmqdump produce
//! --manifest` writes and the `rocketmq-capture-manifest/1` files beside the bundled
//! captures. Works on the JSON Lines objects of `rmqdump read --json`.

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::Value;

fn b64(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(s).ok()
}

fn sha256_hex(b: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// Every disagreement between the manifest and the capture, as readable lines (empty when
/// the capture holds every message as sent, with the results the producer reported).
pub fn check(manifest: &Value, frames: &[Value]) -> Vec<String> {
    let mut out = Vec::new();
    let topic = manifest["topic"].as_str().unwrap_or("");
    // Send requests' messages, with the response to their request.
    let mut responses: BTreeMap<u64, &Value> = BTreeMap::new();
    for f in frames {
        if f["kind"] == "response"
            && let Some(p) = f["request"]["packet"].as_u64()
        {
            responses.insert(p, f);
        }
    }
    let mut sent: Vec<(&Value, usize, &Value)> = Vec::new();
    for f in frames {
        if f["kind"] == "response" || !matches!(f["code"].as_i64(), Some(10 | 310 | 320)) {
            continue;
        }
        for (k, m) in f["messages"].as_array().into_iter().flatten().enumerate() {
            sent.push((f, k, m));
        }
    }
    let Some(msgs) = manifest["messages"].as_array() else {
        return vec!["manifest has no messages".into()];
    };
    for x in msgs {
        let id = x["id"].as_str().unwrap_or("?");
        if x["on_wire"] == false {
            continue;
        }
        let r = &x["send_result"];
        let uniq = r["msg_id"]
            .as_str()
            .filter(|s| !s.is_empty() && !s.contains(','));
        // Find the message: by its UNIQ_KEY when the result names it, else by tags and keys.
        let mut hits: Vec<&(&Value, usize, &Value)> = match uniq {
            Some(u) => sent.iter().filter(|s| s.2["uniq_key"] == u).collect(),
            None => Vec::new(),
        };
        if hits.is_empty() {
            hits = sent
                .iter()
                .filter(|s| {
                    s.2["tags"] == x["tags"]
                        && (s.2["keys"] == x["keys_property"]
                            || (x["keys_property"].is_null() && s.2["keys"].is_null()))
                })
                .collect();
        }
        // A producer that got a failure answer sends the message again with the same id
        // (`DefaultMQProducer.sendDefaultImpl`'s retries, `retryTimesWhenSendAsyncFailed`):
        // the attempt answered SUCCESS is the one, when every other was answered otherwise
        // or not at all.
        if hits.len() > 1 {
            let code = |h: &&(&Value, usize, &Value)| {
                h.0["packet"]
                    .as_u64()
                    .and_then(|p| responses.get(&p))
                    .and_then(|r| r["code"].as_i64())
            };
            let ok: Vec<_> = hits
                .iter()
                .copied()
                .filter(|h| code(h) == Some(0))
                .collect();
            if ok.len() == 1 {
                hits = ok;
            }
        }
        if hits.len() != 1 {
            out.push(format!(
                "{id}: found in {} send requests, expected 1",
                hits.len()
            ));
            continue;
        }
        let (f, k, m) = *hits[0];
        let pkt = f["packet"].as_u64().unwrap_or(0);
        let mut field = |what: &str, ok: bool, got: &Value, want: &Value| {
            if !ok {
                out.push(format!(
                    "{id} (packet {pkt}): {what}: manifest {want}, capture {got}"
                ));
            }
        };
        if !topic.is_empty() {
            field(
                "topic",
                m["topic"] == topic,
                &m["topic"],
                &Value::from(topic),
            );
        }
        field("tags", m["tags"] == x["tags"], &m["tags"], &x["tags"]);
        if !x["keys_property"].is_null() {
            field(
                "keys",
                m["keys"] == x["keys_property"],
                &m["keys"],
                &x["keys_property"],
            );
        }
        if let Some(up) = x["user_properties"].as_object() {
            for (key, v) in up {
                field(
                    &format!("property {key}"),
                    &m["properties"][key] == v,
                    &m["properties"][key],
                    v,
                );
            }
        }
        let body = m["body"].as_str().and_then(b64).unwrap_or_default();
        if let Some(want) = x["body_b64"].as_str().and_then(b64) {
            field(
                "body",
                body == want,
                &Value::from(body.len()),
                &Value::from(want.len()),
            );
        } else if let Some(h) = x["body_sha256"].as_str() {
            field(
                "body sha256",
                sha256_hex(&body) == h,
                &Value::from(sha256_hex(&body)),
                &Value::from(h),
            );
        }
        // The result.
        if r["ok"] != true || r["status"] == "ONEWAY_NO_RESULT" {
            continue;
        }
        let Some(resp) = responses.get(&pkt) else {
            out.push(format!("{id} (packet {pkt}): no response in the capture"));
            continue;
        };
        field(
            "response code",
            resp["code"] == 0,
            &resp["code"],
            &Value::from(0),
        );
        let h = &resp["header"];
        let offset_ids: Vec<&str> = h["msgId"].as_str().unwrap_or("").split(',').collect();
        let offset_id = offset_ids.get(k).copied().unwrap_or("");
        if let Some(want) = r["offset_msg_id"].as_str() {
            let want = want.split(',').nth(k).unwrap_or(want);
            field(
                "offsetMsgId",
                offset_id == want,
                &Value::from(offset_id),
                &Value::from(want),
            );
        }
        if let Some(u) = uniq {
            // Some clients report the broker's offset id as msgId (ali-ons).
            field(
                "msgId",
                m["uniq_key"] == u || offset_id == u,
                &m["uniq_key"],
                &Value::from(u),
            );
        }
        let q = &r["queue_id"];
        let q = q
            .as_i64()
            .or_else(|| q.as_str().and_then(|s| s.parse().ok()));
        if let Some(q) = q {
            field(
                "queueId",
                h["queueId"].as_i64() == Some(q),
                &h["queueId"],
                &Value::from(q),
            );
        }
        if let Some(o) = r["queue_offset"].as_i64() {
            let base = h["queueOffset"].as_i64().unwrap_or(-1);
            // A batch reports its first offset; its k-th message is base + k.
            let got = if f["batch"] == true && o != base {
                base + k as i64
            } else {
                base
            };
            field("queueOffset", got == o, &Value::from(got), &Value::from(o));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Two send requests of one message (same UNIQ_KEY) and their responses.
    fn retried(first: i64, second: i64) -> Vec<Value> {
        let send = |packet: u64| {
            json!({"kind": "request", "code": 310, "packet": packet,
                   "messages": [{"uniq_key": "U1", "topic": "T", "tags": null, "keys": null}]})
        };
        let resp = |packet: u64, request: u64, code: i64| {
            json!({"kind": "response", "code": code, "packet": packet,
                   "request": {"packet": request}, "header": {"queueId": 1}})
        };
        vec![send(1), resp(2, 1, first), send(3), resp(4, 3, second)]
    }

    #[test]
    fn a_retried_send_is_the_attempt_answered_success() {
        let m = json!({"topic": "T", "messages": [{"id": "m0", "tags": null,
            "keys_property": null, "send_result": {"ok": true, "msg_id": "U1", "queue_id": 1}}]});
        // SYSTEM_BUSY, then SUCCESS: the second attempt is the message.
        assert!(
            check(&m, &retried(2, 0)).is_empty(),
            "{:?}",
            check(&m, &retried(2, 0))
        );
        assert!(check(&m, &retried(0, 2)).is_empty());
        // Two attempts answered SUCCESS: the message was stored twice.
        assert_eq!(
            check(&m, &retried(0, 0)),
            ["m0: found in 2 send requests, expected 1"]
        );
    }
}
