package rmqdump.peer;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.LocalTransactionState;
import org.apache.rocketmq.client.producer.SendCallback;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.TransactionListener;
import org.apache.rocketmq.client.producer.TransactionMQProducer;
import org.apache.rocketmq.client.producer.TransactionSendResult;
import org.apache.rocketmq.common.MixAll;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;

/**
 * The Java harness of record: Apache RocketMQ's own remoting client (rocketmq-client) and admin
 * (rocketmq-tools MQAdminExt) driven through every send mode and consumer kind against one
 * NameServer, writing a manifest of what the API was given and what it reported back.
 *
 * <pre>java -cp 'jar:lib/*' rmqdump.peer.Main NAMESRV MANIFEST.json RUN_NAME [--no-pop]</pre>
 *
 * Message set: see peers/java/README.md. The groups, topic and keys carry RUN_NAME so that runs
 * against one broker do not see each other's messages.
 */
public final class Main {
    static final long WAIT_MS = 60_000;

    final String namesrv;
    final String run;
    final String topic;
    final List<Map<String, Object>> messages = new ArrayList<>();
    final Map<String, Object> manifest = new LinkedHashMap<>();
    final List<String> notes = new ArrayList<>();
    final Set<String> checked = ConcurrentHashMap.newKeySet();

    Main(String namesrv, String run) {
        this.namesrv = namesrv;
        this.run = run;
        this.topic = "JavaCap_" + run + "_topic";
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && (args[0].equals("produce") || args[0].equals("read"))) {
            Tools.main(args);
            return;
        }
        if (args.length < 3) {
            System.err.println("usage: Main NAMESRV MANIFEST.json RUN_NAME [--no-pop]");
            System.exit(2);
        }
        boolean pop = !(args.length > 3 && args[3].equals("--no-pop"));
        Main m = new Main(args[0], args[2]);
        int code = 0;
        try {
            m.runAll(pop);
        } catch (Throwable e) {
            e.printStackTrace();
            m.manifest.put("error", e.toString());
            code = 1;
        }
        Files.write(Paths.get(args[1]), Json.write(m.manifest).getBytes(StandardCharsets.UTF_8));
        System.exit(code);
    }

    static String clientVersion() {
        return org.apache.rocketmq.common.MQVersion.getVersionDesc(
            org.apache.rocketmq.common.MQVersion.CURRENT_VERSION);
    }

    static String sha256(byte[] b) throws Exception {
        StringBuilder s = new StringBuilder();
        for (byte x : MessageDigest.getInstance("SHA-256").digest(b)) {
            s.append(String.format("%02x", x));
        }
        return s.toString();
    }

    /** A message of the set, and its manifest entry (filled in as the run goes). */
    Message msg(String id, String mode, String tags, List<String> keys, Map<String, String> props,
                byte[] body) throws Exception {
        Message m = new Message(topic, tags, body);
        if (!keys.isEmpty()) {
            m.setKeys(keys);
        }
        for (Map.Entry<String, String> e : props.entrySet()) {
            m.putUserProperty(e.getKey(), e.getValue());
        }
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("id", id);
        e.put("send_mode", mode);
        e.put("batch", null);
        e.put("tags", tags);
        e.put("keys", keys);
        e.put("keys_property", m.getKeys());
        e.put("user_properties", new TreeMap<>(props));
        e.put("body_len", body.length);
        e.put("body_sha256", sha256(body));
        if (body.length <= 1024) {
            e.put("body_b64", Base64.getEncoder().encodeToString(body));
        }
        e.put("expect_client_compression", body.length > 4096);
        e.put("on_wire", true);
        e.put("send_result", null);
        e.put("consumed", null);
        messages.add(e);
        return m;
    }

    static Map<String, Object> result(SendResult r) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("ok", true);
        o.put("status", r.getSendStatus().name());
        o.put("msg_id", r.getMsgId());
        o.put("offset_msg_id", r.getOffsetMsgId());
        o.put("broker_name", r.getMessageQueue().getBrokerName());
        o.put("queue_id", r.getMessageQueue().getQueueId());
        o.put("queue_offset", r.getQueueOffset());
        return o;
    }

    static Map<String, Object> failure(Throwable t) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("ok", false);
        o.put("error", t.toString());
        return o;
    }

    Map<String, Object> entry(String id) {
        for (Map<String, Object> e : messages) {
            if (e.get("id").equals(id)) {
                return e;
            }
        }
        throw new IllegalArgumentException(id);
    }

    static String bodyText(String s, int n) {
        StringBuilder b = new StringBuilder();
        while (b.length() < n) {
            b.append(s);
        }
        return b.substring(0, n);
    }

    static Map<String, String> props(String... kv) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i + 1 < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return m;
    }

    void runAll(boolean pop) throws Exception {
        manifest.put("format", "rocketmq-capture-manifest/1");
        manifest.put("set", "java-" + run);
        Map<String, Object> client = new LinkedHashMap<>();
        client.put("name", "Apache RocketMQ Java remoting client (rocketmq-client, rocketmq-tools)");
        client.put("language", "Java");
        client.put("package", "org.apache.rocketmq:rocketmq-client");
        client.put("version", clientVersion());
        client.put("runtime", "Java " + System.getProperty("java.version"));
        client.put("compress_threshold_bytes", 4096);
        manifest.put("client", client);
        manifest.put("namesrv", namesrv);
        manifest.put("topic", topic);
        String pg = "PG_java_" + run;
        String tpg = "TPG_java_" + run;
        manifest.put("producer_group", pg);
        manifest.put("transaction_producer_group", tpg);
        manifest.put("messages", messages);
        manifest.put("notes", notes);

        // --- admin: cluster info, create the topic on the broker -----------------------------
        DefaultMQAdminExt admin = new DefaultMQAdminExt("admin_java_" + run, 5000);
        admin.setNamesrvAddr(namesrv);
        admin.setInstanceName("admin_" + run);
        admin.start();
        Map<String, Object> adm = new LinkedHashMap<>();
        manifest.put("admin", adm);
        var cluster = admin.examineBrokerClusterInfo();
        Map<String, Object> brokers = new TreeMap<>();
        String brokerAddr = null;
        String brokerName = null;
        for (var b : cluster.getBrokerAddrTable().entrySet()) {
            brokers.put(b.getKey(), new TreeMap<>(b.getValue().getBrokerAddrs()));
            brokerAddr = b.getValue().getBrokerAddrs().get(MixAll.MASTER_ID);
            brokerName = b.getKey();
        }
        adm.put("cluster_brokers", brokers);
        adm.put("cluster_names", new TreeMap<>(cluster.getClusterAddrTable()));
        TopicConfig tc = new TopicConfig(topic);
        tc.setReadQueueNums(4);
        tc.setWriteQueueNums(4);
        admin.createAndUpdateTopicConfig(brokerAddr, tc);
        adm.put("created_topic", Map.of("topic", topic, "read_queues", 4, "write_queues", 4, "broker", brokerAddr));
        manifest.put("broker_addr", brokerAddr);
        manifest.put("broker_name", brokerName);
        Thread.sleep(500);

        // --- producer: sync, compressed, async, oneway, batch, delay, ordered -----------------
        DefaultMQProducer p = new DefaultMQProducer(pg);
        p.setNamesrvAddr(namesrv);
        p.setInstanceName("producer_" + run);
        p.setSendMsgTimeout(5000);
        p.start();
        byte[] bin = new byte[512];
        for (int i = 0; i < 512; i++) {
            bin[i] = (byte) (i % 256);
        }
        List<Object[]> sync = new ArrayList<>();
        sync.add(new Object[] {msg("j01", "sync", "TagA", List.of("JORD-0001"),
            props("color", "red", "priority", "1"),
            "Hello RocketMQ from Java #1".getBytes(StandardCharsets.UTF_8))});
        sync.add(new Object[] {msg("j02", "sync", "TagB", List.of("user-42", "JORD-0002"),
            props("region", "华东", "中文键", "中文值", "note", "a=b;c,d"),
            "你好，RocketMQ！这是一条来自 Java 客户端的消息。".getBytes(StandardCharsets.UTF_8))});
        sync.add(new Object[] {msg("j03", "sync", "bin", List.of("bin-1"), props(), bin)});
        sync.add(new Object[] {msg("j04", "sync", "big", List.of("big-1"), props("size", "6000"),
            bodyText("RocketMQ compressible text from the Java client. ", 6000)
                .getBytes(StandardCharsets.UTF_8))});
        for (Object[] s : sync) {
            Message m = (Message) s[0];
            Map<String, Object> e = messages.get(sync.indexOf(s));
            try {
                e.put("send_result", result(p.send(m)));
            } catch (Exception ex) {
                e.put("send_result", failure(ex));
            }
        }

        Message a1 = msg("j05", "async", "async", List.of("async-1"), props("mode", "async"),
            "async message one".getBytes(StandardCharsets.UTF_8));
        Message a2 = msg("j06", "async", "async", List.of("async-2"), props("mode", "async"),
            "async message two".getBytes(StandardCharsets.UTF_8));
        CountDownLatch asyncDone = new CountDownLatch(2);
        for (String[] pair : new String[][] {{"j05"}, {"j06"}}) {
            Message m = pair[0].equals("j05") ? a1 : a2;
            Map<String, Object> e = entry(pair[0]);
            p.send(m, new SendCallback() {
                @Override
                public void onSuccess(SendResult r) {
                    e.put("send_result", result(r));
                    asyncDone.countDown();
                }

                @Override
                public void onException(Throwable t) {
                    e.put("send_result", failure(t));
                    asyncDone.countDown();
                }
            });
        }
        if (!asyncDone.await(30, TimeUnit.SECONDS)) {
            notes.add("async sends did not all complete in 30 s");
        }

        Message ow = msg("j07", "oneway", "oneway", List.of("ow-1"), props("mode", "oneway"),
            "oneway message".getBytes(StandardCharsets.UTF_8));
        p.sendOneway(ow);
        Map<String, Object> owr = new LinkedHashMap<>();
        owr.put("ok", true);
        owr.put("status", "ONEWAY_NO_RESULT");
        entry("j07").put("send_result", owr);

        List<Message> batch = new ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            batch.add(msg(String.format("j%02d", 7 + i), "batch", "batch", List.of("batch-" + i),
                props("index", String.valueOf(i)),
                ("batch message " + i).getBytes(StandardCharsets.UTF_8)));
        }
        try {
            SendResult br = p.send(batch);
            String[] ids = br.getMsgId().split(",");
            String[] offs = br.getOffsetMsgId() == null ? new String[0] : br.getOffsetMsgId().split(",");
            for (int i = 0; i < 3; i++) {
                Map<String, Object> e = entry(String.format("j%02d", 8 + i));
                Map<String, Object> r = result(br);
                r.put("batch_msg_id", br.getMsgId());
                r.put("msg_id", i < ids.length ? ids[i] : null);
                r.put("offset_msg_id", i < offs.length ? offs[i] : null);
                r.put("queue_offset", br.getQueueOffset() + i);
                e.put("send_result", r);
                e.put("batch", Map.of("size", 3, "index", i));
            }
        } catch (Exception ex) {
            for (int i = 0; i < 3; i++) {
                entry(String.format("j%02d", 8 + i)).put("send_result", failure(ex));
            }
        }

        Message delay = msg("j11", "sync", "delay", List.of("delay-1"), props("mode", "delay"),
            "delayed message, level 2 (5 s)".getBytes(StandardCharsets.UTF_8));
        delay.setDelayTimeLevel(2);
        entry("j11").put("delay_level", 2);
        try {
            entry("j11").put("send_result", result(p.send(delay)));
        } catch (Exception ex) {
            entry("j11").put("send_result", failure(ex));
        }

        for (int i = 1; i <= 3; i++) {
            String id = String.format("j%02d", 11 + i);
            Message m = msg(id, "sync", "order", List.of("order-" + i), props("orderId", "7"),
                ("ordered message " + i + " of order 7").getBytes(StandardCharsets.UTF_8));
            entry(id).put("order_id", 7);
            try {
                SendResult r = p.send(m, (mqs, msg, arg) -> mqs.get((Integer) arg % mqs.size()), 7);
                entry(id).put("send_result", result(r));
            } catch (Exception ex) {
                entry(id).put("send_result", failure(ex));
            }
        }

        // --- transaction: commit, rollback, unknown (then the broker's check commits) -------
        TransactionMQProducer tp = new TransactionMQProducer(tpg);
        tp.setNamesrvAddr(namesrv);
        tp.setInstanceName("txproducer_" + run);
        tp.setTransactionListener(new TransactionListener() {
            @Override
            public LocalTransactionState executeLocalTransaction(Message m, Object arg) {
                return (LocalTransactionState) arg;
            }

            @Override
            public LocalTransactionState checkLocalTransaction(MessageExt m) {
                // The local transaction's real outcome: a broker may also check a half message
                // whose END_TRANSACTION it has not applied yet (5.x writes its op messages in
                // batches, transactionOpBatchInterval), so a rolled-back one stays rolled back.
                checked.add(m.getKeys());
                return "tx-rollback".equals(m.getKeys())
                    ? LocalTransactionState.ROLLBACK_MESSAGE : LocalTransactionState.COMMIT_MESSAGE;
            }
        });
        tp.start();
        Object[][] txs = {
            {"j15", "tx-commit", LocalTransactionState.COMMIT_MESSAGE},
            {"j16", "tx-rollback", LocalTransactionState.ROLLBACK_MESSAGE},
            {"j17", "tx-check", LocalTransactionState.UNKNOW},
        };
        for (Object[] t : txs) {
            String id = (String) t[0];
            Message m = msg(id, "transaction", "tx", List.of((String) t[1]), props("tx", (String) t[1]),
                ("transactional message " + t[1]).getBytes(StandardCharsets.UTF_8));
            try {
                TransactionSendResult r = tp.sendMessageInTransaction(m, t[2]);
                Map<String, Object> res = result(r);
                res.put("local_transaction_state", r.getLocalTransactionState().name());
                entry(id).put("send_result", res);
            } catch (Exception ex) {
                entry(id).put("send_result", failure(ex));
            }
        }

        Set<String> expected = new HashSet<>();
        for (Map<String, Object> e : messages) {
            if (!"j16".equals(e.get("id"))) {
                expected.add((String) e.get("keys_property"));
            }
        }

        // --- push consumer: long-poll PULL, offsets, heartbeat with the subscription --------
        Map<String, Object> consumers = new LinkedHashMap<>();
        manifest.put("consumers", consumers);
        String cg = "CG_java_push_" + run;
        manifest.put("consumer_group", cg);
        Map<String, MessageExt> pushed = new ConcurrentHashMap<>();
        DefaultMQPushConsumer c = new DefaultMQPushConsumer(cg);
        c.setNamesrvAddr(namesrv);
        c.setInstanceName("push_" + run);
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.subscribe(topic, "*");
        c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                pushed.putIfAbsent(m.getKeys() == null ? "" : m.getKeys(), m);
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        c.start();
        long t0 = System.currentTimeMillis();
        while (!pushed.keySet().containsAll(expected) && System.currentTimeMillis() - t0 < WAIT_MS) {
            Thread.sleep(200);
        }
        // Let the consumer persist its offsets (UPDATE_CONSUMER_OFFSET) before it stops.
        Thread.sleep(6000);
        c.shutdown();
        consumers.put("push", consumed("DefaultMQPushConsumer (CONSUME_FROM_FIRST_OFFSET, concurrently)",
            cg, pushed, expected));
        for (Map<String, Object> e : messages) {
            MessageExt m = pushed.get((String) e.get("keys_property"));
            e.put("consumed", m == null ? null : describe(m));
        }
        Map<String, Object> tx = new LinkedHashMap<>();
        tx.put("checked_keys", new ArrayList<>(new java.util.TreeSet<>(checked)));
        manifest.put("transaction_checks", tx);

        // --- lite pull consumer ---------------------------------------------------------------
        String lg = "CG_java_lite_" + run;
        Map<String, MessageExt> lite = new ConcurrentHashMap<>();
        DefaultLitePullConsumer lp = new DefaultLitePullConsumer(lg);
        lp.setNamesrvAddr(namesrv);
        lp.setInstanceName("lite_" + run);
        lp.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        lp.setAutoCommit(true);
        lp.subscribe(topic, "*");
        lp.start();
        t0 = System.currentTimeMillis();
        while (!lite.keySet().containsAll(expected) && System.currentTimeMillis() - t0 < WAIT_MS) {
            for (MessageExt m : lp.poll(1000)) {
                lite.putIfAbsent(m.getKeys() == null ? "" : m.getKeys(), m);
            }
        }
        lp.poll(100);
        Thread.sleep(6000);
        lp.shutdown();
        consumers.put("lite_pull", consumed("DefaultLitePullConsumer (subscribe, auto commit)", lg, lite, expected));

        // --- pop consumer (5.x brokers): POP, ACK, CHANGE_MESSAGE_INVISIBLETIME ---------------
        if (pop) {
            consumers.put("pop", popConsumer(admin, brokerAddr, expected));
        } else {
            notes.add("no pop consumer in this run (--no-pop: the broker has no POP)");
        }

        // --- admin: consume stats, query by key, view by id ------------------------------------
        try {
            adm.put("consume_stats", consumeStats(admin, cg));
        } catch (Exception ex) {
            // A 5.x admin asks a 4.9.x broker GET_TOPIC_CONFIG (351) first, which it refuses.
            adm.put("consume_stats", Map.of("group", cg, "error", ex.toString()));
        }
        try {
            var qr = admin.queryMessage(topic, "JORD-0001", 32, 0, Long.MAX_VALUE);
            List<Object> hits = new ArrayList<>();
            for (MessageExt m : qr.getMessageList()) {
                hits.add(describe(m));
            }
            adm.put("query_by_key", Map.of("key", "JORD-0001", "messages", hits));
        } catch (Exception ex) {
            adm.put("query_by_key", Map.of("key", "JORD-0001", "error", ex.toString()));
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> r1 = (Map<String, Object>) entry("j01").get("send_result");
        String off = (String) r1.get("offset_msg_id");
        try {
            MessageExt viewed = admin.viewMessage(topic, off);
            adm.put("view_by_id", Map.of("offset_msg_id", off, "message", describe(viewed)));
        } catch (Exception ex) {
            adm.put("view_by_id", Map.of("offset_msg_id", off, "error", ex.toString()));
        }

        tp.shutdown();
        p.shutdown();
        admin.shutdown();
    }

    static Map<String, Object> consumeStats(DefaultMQAdminExt admin, String cg) throws Exception {
        var stats = admin.examineConsumeStats(cg);
        List<Object> qs = new ArrayList<>();
        for (var q : new TreeMap<>(stats.getOffsetTable()).entrySet()) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("topic", q.getKey().getTopic());
            o.put("queue_id", q.getKey().getQueueId());
            o.put("broker_offset", q.getValue().getBrokerOffset());
            o.put("consumer_offset", q.getValue().getConsumerOffset());
            qs.add(o);
        }
        Map<String, Object> cs = new LinkedHashMap<>();
        cs.put("group", cg);
        cs.put("queues", qs);
        cs.put("consume_tps", stats.getConsumeTps());
        return cs;
    }

    Map<String, Object> consumed(String kind, String group, Map<String, MessageExt> got, Set<String> expected) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("kind", kind);
        o.put("group", group);
        List<String> missing = new ArrayList<>();
        for (String k : expected) {
            if (!got.containsKey(k)) {
                missing.add(k);
            }
        }
        Collections.sort(missing);
        o.put("missing_keys", missing);
        List<Object> ms = new ArrayList<>();
        for (String k : new java.util.TreeSet<>(got.keySet())) {
            ms.add(describe(got.get(k)));
        }
        o.put("messages", ms);
        return o;
    }

    static Map<String, Object> describe(MessageExt m) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("topic", m.getTopic());
        o.put("keys", m.getKeys());
        o.put("tags", m.getTags());
        o.put("queue_id", m.getQueueId());
        o.put("queue_offset", m.getQueueOffset());
        o.put("commit_log_offset", m.getCommitLogOffset());
        o.put("msg_id", m.getMsgId());
        o.put("store_size", m.getStoreSize());
        o.put("sys_flag", m.getSysFlag());
        o.put("reconsume_times", m.getReconsumeTimes());
        o.put("body_len", m.getBody() == null ? 0 : m.getBody().length);
        try {
            o.put("body_sha256", sha256(m.getBody() == null ? new byte[0] : m.getBody()));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        o.put("properties", new TreeMap<>(m.getProperties()));
        return o;
    }

    /**
     * A push consumer whose group the broker serves in POP mode: the admin's
     * setMessageRequestMode (MQAdminExt, 5.x; mqadmin setConsumeMode) stores the mode on the
     * broker, the client learns it through QUERY_ASSIGNMENT when it does not rebalance itself
     * (DefaultMQPushConsumer.setClientRebalance(false), RebalanceImpl.doRebalance), and then
     * POPs, ACKs, and changes the invisible time of a message it asks to reconsume later
     * (ConsumeMessagePopConcurrentlyService). Reflection keeps the source compiling against
     * 4.9.x clients, which have no pop mode.
     */
    Map<String, Object> popConsumer(DefaultMQAdminExt admin, String brokerAddr, Set<String> expected)
        throws Exception {
        String group = "CG_java_pop_" + run;
        Class<?> modeClass = Class.forName("org.apache.rocketmq.common.message.MessageRequestMode");
        Object popMode = null;
        for (Object k : modeClass.getEnumConstants()) {
            if (k.toString().equals("POP")) {
                popMode = k;
            }
        }
        // The subscription group must exist before the mode is set on it.
        admin.getClass().getMethod("setMessageRequestMode", String.class, String.class, String.class,
            modeClass, int.class, long.class).invoke(admin, brokerAddr, topic, group, popMode, 8, 5000L);
        Map<String, MessageExt> got = new ConcurrentHashMap<>();
        List<Object> deliveries = Collections.synchronizedList(new ArrayList<>());
        DefaultMQPushConsumer c = new DefaultMQPushConsumer(group);
        c.setNamesrvAddr(namesrv);
        c.setInstanceName("pop_" + run);
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.getClass().getMethod("setClientRebalance", boolean.class).invoke(c, false);
        c.subscribe(topic, "*");
        Set<String> laterOnce = ConcurrentHashMap.newKeySet();
        c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                String k = m.getKeys() == null ? "" : m.getKeys();
                Map<String, Object> d = new LinkedHashMap<>();
                d.put("keys", k);
                d.put("reconsume_times", m.getReconsumeTimes());
                d.put("pop_ck", m.getProperty("POP_CK"));
                deliveries.add(d);
                got.putIfAbsent(k, m);
                if (k.equals("JORD-0001") && laterOnce.add(k)) {
                    // Asks for a redelivery: the client answers with CHANGE_MESSAGE_INVISIBLETIME
                    // (the redelivery itself comes after the broker's revive scan, past the run).
                    ctx.setDelayLevelWhenNextConsume(1);
                    return ConsumeConcurrentlyStatus.RECONSUME_LATER;
                }
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        c.start();
        long t0 = System.currentTimeMillis();
        while (!got.keySet().containsAll(expected) && System.currentTimeMillis() - t0 < WAIT_MS) {
            Thread.sleep(200);
        }
        // ACKs are answered late by a loaded broker: let them come before the connection goes.
        Thread.sleep(6000);
        c.shutdown();
        Map<String, Object> o = consumed("DefaultMQPushConsumer in POP mode (setMessageRequestMode POP, clientRebalance=false)",
            group, got, expected);
        o.put("reconsume_later_keys", new ArrayList<>(laterOnce));
        o.put("deliveries", new ArrayList<>(deliveries));
        return o;
    }
}
