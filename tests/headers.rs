//! Typed headers per family: for each request code (and the response to it), the Java
//! header class and its fields with their Java types, as read in apache/rocketmq @ 8fc57f14
//! `remoting/src/main/java/org/apache/rocketmq/remoting/protocol/header/` (and
//! `header/namesrv/`). A command carrying every field decodes to those names with numbers as
//! numbers and booleans as booleans (`RemotingCommand.decodeCommandCustomHeader`).

use rmqdump::protocol::{self, DecodeOptions, headers};
use rmqdump::remoting::command::RemotingCommand;
use serde_json::{Value, json};

/// 'S' String / enum, 'I' Integer/int, 'L' Long/long, 'B' Boolean/boolean.
type Family = (i32, bool, &'static str, &'static [(&'static str, char)]);

#[rustfmt::skip]
const FAMILIES: &[Family] = &[
    // pop family
    (200050, false, "PopMessageRequestHeader", &[
        ("consumerGroup", 'S'), ("topic", 'S'), ("queueId", 'I'), ("maxMsgNums", 'I'),
        ("invisibleTime", 'L'), ("pollTime", 'L'), ("bornTime", 'L'), ("initMode", 'I'),
        ("expType", 'S'), ("exp", 'S'), ("order", 'B'), ("attemptId", 'S'),
    ]),
    (200050, true, "PopMessageResponseHeader", &[
        ("popTime", 'L'), ("invisibleTime", 'L'), ("reviveQid", 'I'), ("restNum", 'L'),
        ("startOffsetInfo", 'S'), ("msgOffsetInfo", 'S'), ("orderCountInfo", 'S'),
    ]),
    (200051, false, "AckMessageRequestHeader", &[
        ("consumerGroup", 'S'), ("topic", 'S'), ("queueId", 'I'), ("extraInfo", 'S'),
        ("offset", 'L'),
    ]),
    (200053, false, "ChangeInvisibleTimeRequestHeader", &[
        ("consumerGroup", 'S'), ("topic", 'S'), ("queueId", 'I'), ("extraInfo", 'S'),
        ("offset", 'L'), ("invisibleTime", 'L'),
    ]),
    (200053, true, "ChangeInvisibleTimeResponseHeader", &[
        ("popTime", 'L'), ("invisibleTime", 'L'), ("reviveQid", 'I'),
    ]),
    (200054, false, "NotificationRequestHeader", &[
        ("consumerGroup", 'S'), ("topic", 'S'), ("queueId", 'I'), ("pollTime", 'L'),
        ("bornTime", 'L'), ("order", 'B'), ("attemptId", 'S'),
    ]),
    (200054, true, "NotificationResponseHeader", &[("hasMsg", 'B'), ("pollingFull", 'B')]),
    (200055, false, "PollingInfoRequestHeader", &[
        ("consumerGroup", 'S'), ("topic", 'S'), ("queueId", 'I'),
    ]),
    (200055, true, "PollingInfoResponseHeader", &[("pollingNum", 'I')]),
    (200052, false, "PeekMessageRequestHeader", &[
        ("topic", 'S'), ("queueId", 'I'), ("maxMsgNums", 'I'), ("consumerGroup", 'S'),
    ]),
    (200052, true, "PopMessageResponseHeader", &[("popTime", 'L'), ("restNum", 'L')]),
    // query / view
    (12, false, "QueryMessageRequestHeader", &[
        ("topic", 'S'), ("key", 'S'), ("maxNum", 'I'), ("beginTimestamp", 'L'),
        ("endTimestamp", 'L'),
    ]),
    (12, true, "QueryMessageResponseHeader", &[
        ("indexLastUpdateTimestamp", 'L'), ("indexLastUpdatePhyoffset", 'L'),
    ]),
    (33, false, "ViewMessageRequestHeader", &[("topic", 'S'), ("offset", 'L')]),
    // offsets
    (29, false, "SearchOffsetRequestHeader", &[
        ("topic", 'S'), ("queueId", 'I'), ("timestamp", 'L'), ("boundaryType", 'S'),
    ]),
    (29, true, "SearchOffsetResponseHeader", &[("offset", 'L')]),
    (30, false, "GetMaxOffsetRequestHeader", &[("topic", 'S'), ("queueId", 'I'), ("committed", 'B')]),
    (30, true, "GetMaxOffsetResponseHeader", &[("offset", 'L')]),
    (31, false, "GetMinOffsetRequestHeader", &[("topic", 'S'), ("queueId", 'I')]),
    (31, true, "GetMinOffsetResponseHeader", &[("offset", 'L')]),
    (32, false, "GetEarliestMsgStoretimeRequestHeader", &[("topic", 'S'), ("queueId", 'I')]),
    (32, true, "GetEarliestMsgStoretimeResponseHeader", &[("timestamp", 'L')]),
    (220, false, "ResetOffsetRequestHeader", &[
        ("group", 'S'), ("topic", 'S'), ("queueId", 'I'), ("offset", 'L'),
        ("timestamp", 'L'), ("isForce", 'B'),
    ]),
    (14, false, "QueryConsumerOffsetRequestHeader", &[
        ("consumerGroup", 'S'), ("topic", 'S'), ("queueId", 'I'), ("setZeroIfNotFound", 'B'),
    ]),
    (14, true, "QueryConsumerOffsetResponseHeader", &[("offset", 'L')]),
    // consumers
    (40, false, "NotifyConsumerIdsChangedRequestHeader", &[("consumerGroup", 'S')]),
    (307, false, "GetConsumerRunningInfoRequestHeader", &[
        ("consumerGroup", 'S'), ("clientId", 'S'), ("jstackEnable", 'B'),
    ]),
    (309, false, "ConsumeMessageDirectlyResultRequestHeader", &[
        ("consumerGroup", 'S'), ("clientId", 'S'), ("msgId", 'S'), ("brokerName", 'S'),
        ("topic", 'S'), ("topicSysFlag", 'I'), ("groupSysFlag", 'I'),
    ]),
    (41, false, "LockBatchMqRequestHeader", &[("bname", 'S'), ("oway", 'B')]),
    (42, false, "UnlockBatchMqRequestHeader", &[("bname", 'S'), ("oway", 'B')]),
    // transactions
    (37, false, "EndTransactionRequestHeader", &[
        ("topic", 'S'), ("producerGroup", 'S'), ("tranStateTableOffset", 'L'),
        ("commitLogOffset", 'L'), ("commitOrRollback", 'I'), ("fromTransactionCheck", 'B'),
        ("msgId", 'S'), ("transactionId", 'S'),
    ]),
    (39, false, "CheckTransactionStateRequestHeader", &[
        ("topic", 'S'), ("tranStateTableOffset", 'L'), ("commitLogOffset", 'L'),
        ("msgId", 'S'), ("transactionId", 'S'), ("offsetMsgId", 'S'),
    ]),
    // broker registration
    (103, false, "RegisterBrokerRequestHeader", &[
        ("brokerName", 'S'), ("brokerAddr", 'S'), ("clusterName", 'S'), ("haServerAddr", 'S'),
        ("brokerId", 'L'), ("heartbeatTimeoutMillis", 'L'), ("enableActingMaster", 'B'),
        ("compressed", 'B'), ("bodyCrc32", 'I'),
    ]),
    (103, true, "RegisterBrokerResponseHeader", &[("haServerAddr", 'S'), ("masterAddr", 'S')]),
    (104, false, "UnRegisterBrokerRequestHeader", &[
        ("brokerName", 'S'), ("brokerAddr", 'S'), ("clusterName", 'S'), ("brokerId", 'L'),
    ]),
    // admin
    (17, false, "CreateTopicRequestHeader", &[
        ("topic", 'S'), ("defaultTopic", 'S'), ("readQueueNums", 'I'), ("writeQueueNums", 'I'),
        ("perm", 'I'), ("topicFilterType", 'S'), ("topicSysFlag", 'I'), ("order", 'B'),
        ("attributes", 'S'), ("force", 'B'),
    ]),
    (21, false, "GetAllTopicConfigRequestHeader", &[
        ("topicSeq", 'I'), ("dataVersion", 'S'), ("maxTopicNum", 'I'),
    ]),
    (202, false, "GetTopicStatsInfoRequestHeader", &[("topic", 'S')]),
    (203, false, "GetConsumerConnectionListRequestHeader", &[("consumerGroup", 'S')]),
    (208, false, "GetConsumeStatsRequestHeader", &[
        ("consumerGroup", 'S'), ("topic", 'S'), ("topicList", 'S'),
    ]),
    (215, false, "DeleteTopicRequestHeader", &[("topic", 'S')]),
    (216, false, "DeleteTopicFromNamesrvRequestHeader", &[("topic", 'S'), ("clusterName", 'S')]),
    (300, false, "QueryTopicConsumeByWhoRequestHeader", &[("topic", 'S')]),
    (207, false, "DeleteSubscriptionGroupRequestHeader", &[("groupName", 'S'), ("cleanOffset", 'B')]),
];

fn sample(ty: char) -> (&'static str, Value) {
    match ty {
        'S' => ("some text", json!("some text")),
        'I' => ("-7", json!(-7)),
        'L' => ("1764460000000", json!(1764460000000i64)),
        'B' => ("true", json!(true)),
        _ => unreachable!(),
    }
}

#[test]
fn every_family_is_typed_with_java_names_and_types() {
    for &(code, is_response, class, fields) in FAMILIES {
        let want_class = if is_response {
            headers::response_class(code)
        } else {
            headers::request_class(code)
        };
        assert_eq!(
            want_class.map(|c| c.0),
            Some(class),
            "code {code} response={is_response}"
        );
        let cmd = RemotingCommand {
            code: if is_response { 0 } else { code },
            flag: i32::from(is_response),
            ext_fields: Some(
                fields
                    .iter()
                    .map(|&(k, t)| (k.into(), sample(t).0.into()))
                    .collect(),
            ),
            ..Default::default()
        };
        let d = protocol::decode(&cmd, Some(code), &DecodeOptions::default());
        // The sample text is no ExtraInfoUtil entry: the POP answer's offset infos say so
        // (protocol::pop_info), one error each, and the header is typed all the same.
        let errors: Vec<&String> = d
            .errors
            .iter()
            .filter(|e| {
                !(class == "PopMessageResponseHeader"
                    && e.ends_with("\"some text\": not three space-separated fields"))
            })
            .collect();
        assert!(errors.is_empty(), "{class}: {:?}", d.errors);
        let h = d
            .header_json()
            .unwrap_or_else(|| panic!("{class}: no header"));
        for &(k, t) in fields {
            assert_eq!(h.get(k), Some(&sample(t).1), "{class}.{k}");
        }
    }
}

#[test]
fn a_value_that_does_not_parse_is_kept_and_reported() {
    let cmd = RemotingCommand {
        code: 200050,
        ext_fields: Some(vec![("maxMsgNums".into(), "lots".into())]),
        ..Default::default()
    };
    let d = protocol::decode(&cmd, None, &DecodeOptions::default());
    assert_eq!(d.field_str("maxMsgNums"), Some("lots"));
    assert!(d.errors[0].contains("maxMsgNums"), "{:?}", d.errors);
}

#[test]
fn codes_without_a_header_class_have_an_empty_typed_header() {
    // GET_BROKER_CLUSTER_INFO: `createRequestCommand(RequestCode.GET_BROKER_CLUSTER_INFO, null)`.
    assert_eq!(headers::request_class(106).map(|c| c.1.len()), Some(0));
    // A code no Java caller sends has no header class: extFields only.
    assert!(headers::request_class(7777).is_none());
}

/// Responses the Java processors build with `createResponseCommand(null)` (or
/// `createResponseCommand(code, remark)`) carry no custom header: their typed header is `{}`,
/// not "class unknown" (null). Seen in the Java captures: GET_TOPIC_CONFIG (351,
/// AdminBrokerProcessor.getTopicConfig), QUERY_ASSIGNMENT and SET_MESSAGE_REQUEST_MODE
/// (400, 401, QueryAssignmentProcessor); the others from the same reading of the processors.
#[test]
fn responses_built_without_a_header_have_an_empty_typed_header() {
    for code in [
        351, 400, 401, 28, 43, 46, 60, 104, 217, 219, 303, 317, 345, 402, 3001, 200056,
    ] {
        assert_eq!(
            headers::response_class(code).map(|c| c.1.len()),
            Some(0),
            "response to {code}"
        );
        let cmd = RemotingCommand {
            code: 0,
            flag: 1,
            ..Default::default()
        };
        let d = protocol::decode(&cmd, Some(code), &DecodeOptions::default());
        assert_eq!(
            d.header_json().map(Value::Object),
            Some(json!({})),
            "response to {code}"
        );
    }
}

/// Admin JSON bodies as fastjson writes them: `ConsumeStats.offsetTable` is a
/// `Map<MessageQueue, OffsetWrapper>`, so its keys are JSON objects; `ClusterInfo`'s
/// `brokerAddrs` has bare integer keys. Both decode (the keys as their JSON text).
#[test]
fn fastjson_admin_bodies_decode() {
    let consume_stats = br#"{"consumeTps":1.5,"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:{"brokerOffset":10,"consumerOffset":8,"lastTimestamp":0}}}"#;
    let r = RemotingCommand {
        flag: 1,
        body: consume_stats.to_vec(),
        ..Default::default()
    };
    let d = protocol::decode(&r, Some(208), &DecodeOptions::default());
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    let v = d.body_json.unwrap();
    let (k, off) = v["offsetTable"].as_object().unwrap().iter().next().unwrap();
    assert!(k.contains("\"brokerName\":\"b\""), "{k}");
    assert_eq!(off["brokerOffset"], 10);
    let cluster = br#"{"brokerAddrTable":{"broker-a":{"brokerAddrs":{0:"10.0.0.9:10911"},"brokerName":"broker-a","cluster":"C"}},"clusterAddrTable":{"C":["broker-a"]}}"#;
    let r = RemotingCommand {
        flag: 1,
        body: cluster.to_vec(),
        ..Default::default()
    };
    let d = protocol::decode(&r, Some(106), &DecodeOptions::default());
    let v = d.body_json.unwrap();
    assert_eq!(
        v["brokerAddrTable"]["broker-a"]["brokerAddrs"]["0"],
        "10.0.0.9:10911"
    );
}
