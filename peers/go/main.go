// rmqdump-go-peer: drives the Go client of record (github.com/apache/rocketmq-client-go/v2)
// against a NameServer and Broker and writes what it sent and what it got back as the
// ground-truth part of a capture manifest (format rocketmq-capture-manifest/1, the one
// tests/manifests.rs reads; scripts/go-peers.sh record adds the capture fields).
//
//	rmqdump-go-peer run     -namesrv A -broker A -topic T -out results.json
//	rmqdump-go-peer consume -namesrv A -topic T -group G -count N -timeout 60s
//
// `run` exercises: admin (CreateTopic, FetchAllTopicList), producer sync / async / oneway /
// batch / compressed (threshold 4096, producer/option.go) / delay level / ordered (hash queue
// selector on a sharding key) / transaction (commit, rollback, unknown answered by the
// broker's check), the push consumer (long-poll PULL_MESSAGE, UPDATE_CONSUMER_OFFSET,
// heartbeats with subscriptions) and the pull consumer (Poll / ACK).
// `consume` is the push consumer alone: it prints one JSON line per message read (for the
// e2e test: the Go consumer reads back what `rmqdump produce` sent).
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/admin"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
	"github.com/apache/rocketmq-client-go/v2/rlog"
)

const module = "github.com/apache/rocketmq-client-go/v2"

// compressThreshold is the Go producer's default CompressMsgBodyOverHowmuch
// (producer/option.go); bodies of at least this many bytes are zlib-compressed
// (producer.go tryCompressMsg: `len(msg.Body) < threshold` means no), batches never.
const compressThreshold = 4096

type spec struct {
	ID    string
	Mode  string // sync async oneway batch ordered delay transaction
	Batch string // batch id for batch members
	Tags  string
	Keys  []string
	Props map[string]string
	Body  []byte
	Delay int
	Shard string
	TxAct primitive.LocalTransactionState // what ExecuteLocalTransaction answers
}

type sendResult struct {
	Status        string `json:"status"`
	OK            bool   `json:"ok"`
	MsgID         string `json:"msg_id,omitempty"`
	OffsetMsgID   string `json:"offset_msg_id,omitempty"`
	QueueID       *int   `json:"queue_id,omitempty"`
	BrokerName    string `json:"broker_name,omitempty"`
	QueueOffset   *int64 `json:"queue_offset,omitempty"`
	TransactionID string `json:"transaction_id,omitempty"`
	Error         string `json:"error,omitempty"`
}

type consumed struct {
	MsgID           string `json:"msg_id"`
	QueueID         int    `json:"queue_id"`
	QueueOffset     int64  `json:"queue_offset"`
	CommitLogOffset int64  `json:"commit_log_offset"`
	BodySha256      string `json:"body_sha256"`
	BodyLen         int    `json:"body_len"`
	Keys            string `json:"keys"`
	Tags            string `json:"tags"`
	ReconsumeTimes  int32  `json:"reconsume_times"`
}

type message struct {
	ID                      string            `json:"id"`
	SendMode                string            `json:"send_mode"`
	Batch                   *string           `json:"batch"`
	Tags                    string            `json:"tags"`
	Keys                    []string          `json:"keys"`
	KeysProperty            string            `json:"keys_property"`
	UserProperties          map[string]string `json:"user_properties"`
	BodyLen                 int               `json:"body_len"`
	BodySha256              string            `json:"body_sha256"`
	BodyPreview             map[string]string `json:"body_preview,omitempty"`
	BodyB64                 *string           `json:"body_b64"`
	ExpectClientCompression bool              `json:"expect_client_compression"`
	OnWire                  bool              `json:"on_wire"`
	DelayLevel              int               `json:"delay_level,omitempty"`
	ShardingKey             string            `json:"sharding_key,omitempty"`
	Transaction             map[string]any    `json:"transaction,omitempty"`
	SendResult              sendResult        `json:"send_result"`
	Consumed                *consumed         `json:"consumed"`
	ExpectConsumed          bool              `json:"expect_consumed"`
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func statusName(s primitive.SendStatus) string {
	switch s {
	case primitive.SendOK:
		return "SEND_OK"
	case primitive.SendFlushDiskTimeout:
		return "FLUSH_DISK_TIMEOUT"
	case primitive.SendFlushSlaveTimeout:
		return "FLUSH_SLAVE_TIMEOUT"
	case primitive.SendSlaveNotAvailable:
		return "SLAVE_NOT_AVAILABLE"
	}
	return "UNKNOWN_ERROR"
}

func txName(s primitive.LocalTransactionState) string {
	switch s {
	case primitive.CommitMessageState:
		return "COMMIT_MESSAGE"
	case primitive.RollbackMessageState:
		return "ROLLBACK_MESSAGE"
	}
	return "UNKNOW"
}

func toResult(r *primitive.SendResult, err error) sendResult {
	if err != nil {
		return sendResult{Status: "ERROR", Error: err.Error()}
	}
	out := sendResult{Status: statusName(r.Status), OK: r.Status == primitive.SendOK,
		MsgID: r.MsgID, OffsetMsgID: r.OffsetMsgID, TransactionID: r.TransactionID}
	if r.MessageQueue != nil {
		q := r.MessageQueue.QueueId
		out.QueueID = &q
		out.BrokerName = r.MessageQueue.BrokerName
	}
	off := r.QueueOffset
	out.QueueOffset = &off
	return out
}

func body(n int, seed string) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "%s line %05d: the quick brown fox jumps over the lazy dog. ", seed, i)
	}
	return b.Bytes()[:n]
}

func specs() []spec {
	p := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	return []spec{
		{ID: "g01", Mode: "sync", Tags: "TagA", Keys: []string{"GO-0001"}, Props: p("color", "red", "priority", "1"), Body: []byte("Hello RocketMQ from the Go client #1")},
		{ID: "g02", Mode: "sync", Tags: "TagB", Keys: []string{"GO-0002", "GO-0002b"}, Props: p("unicode", "grüße ✓"), Body: []byte("{\"order\":2,\"note\":\"two keys, a non-ASCII property\"}")},
		{ID: "g03", Mode: "sync", Tags: "TagC", Keys: []string{"GO-0003"}, Props: p(), Body: body(512, "g03")},
		{ID: "g04", Mode: "async", Tags: "TagA", Keys: []string{"GO-0004"}, Props: p("color", "green"), Body: []byte("async #4")},
		{ID: "g05", Mode: "async", Tags: "TagB", Keys: []string{"GO-0005"}, Props: p(), Body: []byte("async #5")},
		{ID: "g06", Mode: "oneway", Tags: "TagOne", Keys: []string{"GO-0006"}, Props: p("mode", "oneway"), Body: []byte("oneway #6")},
		{ID: "g07", Mode: "batch", Batch: "b1", Tags: "TagBatch", Keys: []string{"GO-0007"}, Props: p("n", "1"), Body: []byte("batch member 1")},
		{ID: "g08", Mode: "batch", Batch: "b1", Tags: "TagBatch", Keys: []string{"GO-0008"}, Props: p("n", "2"), Body: []byte("batch member 2")},
		{ID: "g09", Mode: "batch", Batch: "b1", Tags: "TagBatch", Keys: []string{"GO-0009"}, Props: p("n", "3"), Body: body(300, "g09")},
		{ID: "g10", Mode: "sync", Tags: "TagZ", Keys: []string{"GO-0010"}, Props: p("size", "20000"), Body: body(20000, "g10")},
		{ID: "g11", Mode: "sync", Tags: "TagZ", Keys: []string{"GO-0011"}, Props: p("size", "4096"), Body: body(4096, "g11")},
		{ID: "g12", Mode: "sync", Tags: "TagZ", Keys: []string{"GO-0012"}, Props: p("size", "4095"), Body: body(4095, "g12")},
		{ID: "g13", Mode: "delay", Tags: "TagDelay", Keys: []string{"GO-0013"}, Props: p(), Body: []byte("delay level 2 (5 s)"), Delay: 2},
		{ID: "g14", Mode: "ordered", Tags: "TagOrder", Keys: []string{"GO-0014"}, Props: p("step", "created"), Body: []byte("order 42 created"), Shard: "order-42"},
		{ID: "g15", Mode: "ordered", Tags: "TagOrder", Keys: []string{"GO-0015"}, Props: p("step", "paid"), Body: []byte("order 42 paid"), Shard: "order-42"},
		{ID: "g16", Mode: "ordered", Tags: "TagOrder", Keys: []string{"GO-0016"}, Props: p("step", "shipped"), Body: []byte("order 42 shipped"), Shard: "order-42"},
		{ID: "g17", Mode: "transaction", Tags: "TagTx", Keys: []string{"GO-TX-COMMIT"}, Props: p(), Body: []byte("transaction committed at once"), TxAct: primitive.CommitMessageState},
		{ID: "g18", Mode: "transaction", Tags: "TagTx", Keys: []string{"GO-TX-ROLLBACK"}, Props: p(), Body: []byte("transaction rolled back"), TxAct: primitive.RollbackMessageState},
		{ID: "g19", Mode: "transaction", Tags: "TagTx", Keys: []string{"GO-TX-CHECK"}, Props: p(), Body: []byte("transaction left unknown, committed on the broker's check"), TxAct: primitive.UnkonwnState},
	}
}

func newMessage(topic string, s spec) *primitive.Message {
	m := primitive.NewMessage(topic, append([]byte(nil), s.Body...))
	m.WithTag(s.Tags)
	m.WithKeys(s.Keys)
	for k, v := range s.Props {
		m.WithProperty(k, v)
	}
	if s.Delay > 0 {
		m.WithDelayTimeLevel(s.Delay)
	}
	if s.Shard != "" {
		m.WithShardingKey(s.Shard)
	}
	return m
}

type txListener struct {
	mu      sync.Mutex
	act     map[string]primitive.LocalTransactionState // by KEYS
	checked map[string]map[string]any                  // by KEYS
}

func (l *txListener) ExecuteLocalTransaction(m *primitive.Message) primitive.LocalTransactionState {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.act[m.GetKeys()]
}

func (l *txListener) CheckLocalTransaction(m *primitive.MessageExt) primitive.LocalTransactionState {
	l.mu.Lock()
	defer l.mu.Unlock()
	// The broker may check any half message it has no op for yet (the Java 5.3.3 broker
	// checked all three in a trial); answer with the local state, settling the unknown one
	// as committed.
	answer := l.act[m.GetKeys()]
	if answer == primitive.UnkonwnState {
		answer = primitive.CommitMessageState
	}
	l.checked[m.GetKeys()] = map[string]any{"transaction_id": m.TransactionId, "msg_id": m.MsgId,
		"answer": txName(answer), "at_utc": time.Now().UTC().Format(time.RFC3339Nano)}
	return answer
}

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "rmqdump-go-peer: "+format+"\n", a...)
	os.Exit(1)
}

func clientVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == module {
				return d.Version
			}
		}
	}
	return "unknown"
}

func resolver(ns string) primitive.NsResolver {
	return primitive.NewPassthroughResolver(strings.Split(ns, ","))
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: rmqdump-go-peer run|consume [flags]")
	}
	rlog.SetLogLevel("error")
	switch os.Args[1] {
	case "run":
		run(os.Args[2:])
	case "consume":
		consume(os.Args[2:])
	case "version":
		fmt.Println(module, clientVersion())
	default:
		fail("unknown command %q", os.Args[1])
	}
}

func run(args []string) {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	ns := fs.String("namesrv", "127.0.0.1:9876", "NameServer address(es), comma-separated")
	broker := fs.String("broker", "127.0.0.1:10911", "Broker address for the admin CreateTopic")
	topic := fs.String("topic", "CapDev_go_topic", "topic")
	suffix := fs.String("group-suffix", "go", "suffix of the producer/consumer group names")
	out := fs.String("out", "results.json", "where to write the results")
	checkWait := fs.Duration("check-wait", 75*time.Second, "how long to wait for the broker's transaction check")
	consumeWait := fs.Duration("consume-wait", 60*time.Second, "how long the push consumer waits for every message")
	pull := fs.Bool("pull", true, "also run the pull consumer (Poll/ACK)")
	var extraNotes multiFlag
	fs.Var(&extraNotes, "note", "a note for the manifest (repeatable)")
	_ = fs.Parse(args)
	ctx := context.Background()
	notes := append([]string{}, extraNotes...)
	start := time.Now()

	// Admin: create the topic on the broker (4 queues), then list the topics.
	adminRes := map[string]any{}
	if a, err := admin.NewAdmin(admin.WithResolver(resolver(*ns))); err != nil {
		adminRes["error"] = err.Error()
	} else {
		err := a.CreateTopic(ctx, admin.WithTopicCreate(*topic), admin.WithBrokerAddrCreate(*broker),
			admin.WithReadQueueNums(4), admin.WithWriteQueueNums(4))
		adminRes["create_topic"] = map[string]any{"topic": *topic, "broker": *broker, "queues": 4, "ok": err == nil, "error": errText(err)}
		time.Sleep(2 * time.Second) // the broker registers the new topic with the NameServer
		list, err := a.FetchAllTopicList(ctx)
		if err != nil {
			adminRes["fetch_all_topic_list"] = map[string]any{"ok": false, "error": err.Error()}
		} else {
			has := false
			for _, t := range list.TopicList {
				has = has || t == *topic
			}
			adminRes["fetch_all_topic_list"] = map[string]any{"ok": true, "topics": len(list.TopicList), "contains_topic": has}
		}
		_ = a.Close()
	}

	all := specs()
	msgs := make([]*message, len(all))
	for i, s := range all {
		m := &message{ID: s.ID, SendMode: s.Mode, Tags: s.Tags, Keys: s.Keys,
			KeysProperty: strings.Join(s.Keys, " "), UserProperties: map[string]string{},
			BodyLen: len(s.Body), BodySha256: sha(s.Body), OnWire: true,
			ExpectClientCompression: len(s.Body) >= compressThreshold && s.Mode != "batch",
			DelayLevel:              s.Delay, ShardingKey: s.Shard, ExpectConsumed: true}
		for k, v := range s.Props {
			m.UserProperties[k] = v
		}
		if s.Shard != "" {
			// The Go client's sharding key is an ordinary property named SHARDING_KEY
			// (primitive/message.go), not Java's __SHARDINGKEY.
			m.UserProperties[primitive.PropertyShardingKey] = s.Shard
		}
		if s.Batch != "" {
			b := s.Batch
			m.Batch = &b
		}
		if len(s.Body) <= 1024 {
			b := base64.StdEncoding.EncodeToString(s.Body)
			m.BodyB64 = &b
			if len(s.Body) <= 80 {
				m.BodyPreview = map[string]string{"utf8": string(s.Body)}
			}
		}
		msgs[i] = m
	}

	popts := []producer.Option{producer.WithNsResolver(resolver(*ns)), producer.WithRetry(2),
		producer.WithGroupName("PG_" + *suffix), producer.WithSendMsgTimeout(10 * time.Second)}
	p, err := rocketmq.NewProducer(popts...)
	if err != nil {
		fail("new producer: %v", err)
	}
	if err := p.Start(); err != nil {
		fail("start producer: %v", err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var batch []*primitive.Message
	var batchIdx []int
	for i, s := range all {
		m := newMessage(*topic, s)
		switch s.Mode {
		case "sync", "delay":
			msgs[i].SendResult = toResult(p.SendSync(ctx, m))
		case "async":
			wg.Add(1)
			i := i
			err := p.SendAsync(ctx, func(_ context.Context, r *primitive.SendResult, err error) {
				mu.Lock()
				msgs[i].SendResult = toResult(r, err)
				mu.Unlock()
				wg.Done()
			}, m)
			if err != nil {
				msgs[i].SendResult = toResult(nil, err)
				wg.Done()
			}
		case "oneway":
			if err := p.SendOneWay(ctx, m); err != nil {
				msgs[i].SendResult = toResult(nil, err)
			} else {
				msgs[i].SendResult = sendResult{Status: "ONEWAY_NO_RESULT", OK: true}
			}
		case "batch":
			batch = append(batch, m)
			batchIdx = append(batchIdx, i)
		}
	}
	wg.Wait()
	if len(batch) > 0 {
		r, err := p.SendSync(ctx, batch...)
		res := toResult(r, err)
		for _, i := range batchIdx {
			msgs[i].SendResult = res
		}
	}
	_ = p.Shutdown()

	// Ordered: the hash queue selector puts every message of one sharding key on one queue.
	op, err := rocketmq.NewProducer(append(popts[:len(popts):len(popts)],
		producer.WithGroupName("PG_"+*suffix+"_ordered"), producer.WithQueueSelector(producer.NewHashQueueSelector()))...)
	if err != nil {
		fail("new ordered producer: %v", err)
	}
	if err := op.Start(); err != nil {
		fail("start ordered producer: %v", err)
	}
	for i, s := range all {
		if s.Mode == "ordered" {
			msgs[i].SendResult = toResult(op.SendSync(ctx, newMessage(*topic, s)))
		}
	}
	_ = op.Shutdown()

	// Transaction: half message, local transaction, END_TRANSACTION; the unknown one is
	// settled by the broker's CHECK_TRANSACTION_STATE.
	l := &txListener{act: map[string]primitive.LocalTransactionState{}, checked: map[string]map[string]any{}}
	for _, s := range all {
		if s.Mode == "transaction" {
			l.act[strings.Join(s.Keys, " ")] = s.TxAct
		}
	}
	tp, err := rocketmq.NewTransactionProducer(l, producer.WithNsResolver(resolver(*ns)), producer.WithRetry(2),
		producer.WithGroupName("PG_"+*suffix+"_tx"), producer.WithSendMsgTimeout(10*time.Second))
	if err != nil {
		fail("new transaction producer: %v", err)
	}
	if err := tp.Start(); err != nil {
		fail("start transaction producer: %v", err)
	}
	for i, s := range all {
		if s.Mode != "transaction" {
			continue
		}
		r, err := tp.SendMessageInTransaction(ctx, newMessage(*topic, s))
		tx := map[string]any{"local_state": txName(s.TxAct)}
		if err != nil {
			msgs[i].SendResult = toResult(nil, err)
		} else {
			msgs[i].SendResult = toResult(r.SendResult, nil)
			tx["state_reported"] = txName(r.State)
		}
		msgs[i].Transaction = tx
		msgs[i].ExpectConsumed = s.TxAct == primitive.CommitMessageState
	}
	deadline := time.Now().Add(*checkWait)
	for time.Now().Before(deadline) {
		l.mu.Lock()
		n := len(l.checked)
		l.mu.Unlock()
		if n > 0 {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	time.Sleep(time.Second) // the END_TRANSACTION answering the check goes out oneway
	_ = tp.Shutdown()
	l.mu.Lock()
	for i, s := range all {
		if s.Mode == "transaction" {
			c, ok := l.checked[strings.Join(s.Keys, " ")]
			msgs[i].Transaction["broker_check"] = c
			if s.TxAct == primitive.UnkonwnState {
				msgs[i].ExpectConsumed = ok
				if !ok {
					notes = append(notes, fmt.Sprintf("%s: no CHECK_TRANSACTION_STATE from the broker within %s", s.ID, *checkWait))
				}
			}
		}
	}
	l.mu.Unlock()
	for _, m := range msgs {
		if !m.SendResult.OK {
			m.ExpectConsumed = false
		}
	}

	// Push consumer: reads every message it should, from the first offset.
	got, cerr := pushConsume(*ns, *topic, "CG_"+*suffix, func(c map[string]consumed) bool {
		for _, m := range msgs {
			if m.ExpectConsumed {
				if _, ok := c[m.KeysProperty]; !ok {
					return false
				}
			}
		}
		return true
	}, *consumeWait)
	consumerRes := map[string]any{"group": "CG_" + *suffix, "kind": "push", "consume_from": "CONSUME_FROM_FIRST_OFFSET",
		"subscription": "*", "received": len(got), "error": errText(cerr)}
	for _, m := range msgs {
		if c, ok := got[m.KeysProperty]; ok {
			c := c
			m.Consumed = &c
		}
	}

	// Pull consumer (Poll / ACK).
	pullRes := map[string]any{"skipped": true}
	if *pull {
		pullRes = pullConsume(*ns, *topic, "CG_"+*suffix+"_pull", msgs)
	}

	res := map[string]any{
		"format": "rocketmq-capture-manifest/1",
		"client": map[string]any{
			"name":                     "Apache RocketMQ Go client (apache/rocketmq-client-go)",
			"language":                 "Go",
			"package":                  module + "@" + clientVersion(),
			"version":                  clientVersion(),
			"producer_script":          "peers/go (rmqdump-go-peer run)",
			"compress_threshold_bytes": compressThreshold,
			"send_modes":               []string{"sync", "async", "oneway", "batch", "delay", "ordered", "transaction"},
			"result_fields":            "Status, MsgID (UNIQ_KEY; empty for a batch), OffsetMsgID, MessageQueue.QueueId/BrokerName, QueueOffset, TransactionID",
		},
		"topic":          *topic,
		"producer_group": "PG_" + *suffix,
		"consumer_group": "CG_" + *suffix,
		"admin":          adminRes,
		"messages":       msgs,
		"consumer":       consumerRes,
		"pull_consumer":  pullRes,
		"elapsed_s":      time.Since(start).Seconds(),
		"notes":          notes,
	}
	b, _ := json.MarshalIndent(res, "", " ")
	if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
		fail("write %s: %v", *out, err)
	}
	failed := 0
	for _, m := range msgs {
		if !m.SendResult.OK {
			failed++
		}
	}
	fmt.Printf("sent %d messages, %d failed; push consumer read %d; pull consumer: %v\n", len(msgs), failed, len(got), pullRes["received"])
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, "; ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func errText(err error) any {
	if err == nil {
		return nil
	}
	return err.Error()
}

func toConsumed(m *primitive.MessageExt) consumed {
	return consumed{MsgID: m.MsgId, QueueID: m.Queue.QueueId, QueueOffset: m.QueueOffset,
		CommitLogOffset: m.CommitLogOffset, BodySha256: sha(m.Body), BodyLen: len(m.Body),
		Keys: m.GetKeys(), Tags: m.GetTags(), ReconsumeTimes: m.ReconsumeTimes}
}

// pushConsume runs a push consumer until done(messages by KEYS) or the timeout.
func pushConsume(ns, topic, group string, done func(map[string]consumed) bool, timeout time.Duration) (map[string]consumed, error) {
	c, err := rocketmq.NewPushConsumer(consumer.WithNsResolver(resolver(ns)), consumer.WithGroupName(group),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset))
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	got := map[string]consumed{}
	err = c.Subscribe(topic, consumer.MessageSelector{}, func(_ context.Context, ms ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range ms {
			if _, seen := got[m.GetKeys()]; !seen {
				got[m.GetKeys()] = toConsumed(m)
			}
		}
		return consumer.ConsumeSuccess, nil
	})
	if err != nil {
		return nil, err
	}
	if err := c.Start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(timeout)
	var out error
	for {
		mu.Lock()
		ok := done(got)
		mu.Unlock()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			out = fmt.Errorf("timed out after %s", timeout)
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	// Let one offset persist (UPDATE_CONSUMER_OFFSET) happen, then shut down (persists again).
	time.Sleep(6 * time.Second)
	_ = c.Shutdown()
	mu.Lock()
	defer mu.Unlock()
	cp := map[string]consumed{}
	for k, v := range got {
		cp[k] = v
	}
	return cp, out
}

func pullConsume(ns, topic, group string, msgs []*message) map[string]any {
	res := map[string]any{"group": group, "kind": "pull (Poll/ACK)"}
	c, err := rocketmq.NewPullConsumer(consumer.WithNsResolver(resolver(ns)), consumer.WithGroupName(group),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset))
	if err != nil {
		res["error"] = err.Error()
		return res
	}
	if err := c.Subscribe(topic, consumer.MessageSelector{}); err != nil {
		res["error"] = err.Error()
		return res
	}
	if err := c.Start(); err != nil {
		res["error"] = err.Error()
		return res
	}
	want := 0
	for _, m := range msgs {
		if m.ExpectConsumed {
			want++
		}
	}
	seen := map[string]bool{}
	deadline := time.Now().Add(30 * time.Second)
	for len(seen) < want && time.Now().Before(deadline) {
		cr, err := c.Poll(context.Background(), 3*time.Second)
		if err != nil {
			if !consumer.IsNoNewMsgError(err) {
				res["poll_error"] = err.Error()
			}
			continue
		}
		for _, m := range cr.GetMsgList() {
			seen[m.GetKeys()] = true
		}
		c.ACK(context.Background(), cr, consumer.ConsumeSuccess)
	}
	_ = c.Shutdown()
	keys := []string{}
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	res["received"] = len(seen)
	res["keys"] = keys
	res["complete"] = len(seen) >= want
	return res
}

func consume(args []string) {
	fs := flag.NewFlagSet("consume", flag.ExitOnError)
	ns := fs.String("namesrv", "127.0.0.1:9876", "NameServer address(es)")
	topic := fs.String("topic", "", "topic")
	group := fs.String("group", "CG_go_consume", "consumer group")
	count := fs.Int("count", 1, "messages to read")
	timeout := fs.Duration("timeout", 60*time.Second, "give up after")
	_ = fs.Parse(args)
	// Keyed by msgId here: messages sent by other tools may share KEYS.
	c, err := rocketmq.NewPushConsumer(consumer.WithNsResolver(resolver(*ns)), consumer.WithGroupName(*group),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset))
	if err != nil {
		fail("new consumer: %v", err)
	}
	var mu sync.Mutex
	got := map[string]consumed{}
	order := []string{}
	err = c.Subscribe(*topic, consumer.MessageSelector{}, func(_ context.Context, ms ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range ms {
			if _, seen := got[m.MsgId]; !seen {
				got[m.MsgId] = toConsumed(m)
				order = append(order, m.MsgId)
			}
		}
		return consumer.ConsumeSuccess, nil
	})
	if err != nil {
		fail("subscribe: %v", err)
	}
	if err := c.Start(); err != nil {
		fail("start consumer: %v", err)
	}
	deadline := time.Now().Add(*timeout)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= *count || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	_ = c.Shutdown()
	mu.Lock()
	defer mu.Unlock()
	enc := json.NewEncoder(os.Stdout)
	for _, id := range order {
		_ = enc.Encode(got[id])
	}
	if len(got) < *count {
		fail("read %d of %d messages in %s", len(got), *count, *timeout)
	}
}
