package rmqdump.peer;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendCallback;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;

/**
 * The Java side of the end-to-end tests (tests/e2e_java.rs) and of scripts/bench-producer.sh:
 *
 * <pre>
 * produce NAMESRV TOPIC COUNT SIZE sync|async OUT.json [GROUP]
 *     COUNT messages of SIZE bytes (the deterministic text `rmqdump produce` sends), tags
 *     TagA/TagB/TagC by turn, KEYS key-i, property color=red, as DefaultMQProducer sends them
 *     (async: every send in flight at once); OUT.json has each SendResult and the elapsed time
 * read NAMESRV TOPIC COUNT OUT.json
 *     reads COUNT messages of TOPIC from the first offset with a DefaultLitePullConsumer
 * </pre>
 */
final class Tools {
    private Tools() {}

    /** The body `rmqdump produce --size N` sends (src/main.rs): "rmqdump message I " cycled. */
    static byte[] body(int size, int i) {
        byte[] text = ("rmqdump message " + i + " ").getBytes(StandardCharsets.US_ASCII);
        byte[] b = new byte[size];
        for (int k = 0; k < size; k++) {
            b[k] = text[k % text.length];
        }
        return b;
    }

    static void main(String[] args) throws Exception {
        Map<String, Object> out = new LinkedHashMap<>();
        if (args[0].equals("produce")) {
            String namesrv = args[1];
            String topic = args[2];
            int count = Integer.parseInt(args[3]);
            int size = Integer.parseInt(args[4]);
            boolean async = args[5].equals("async");
            String group = args.length > 7 ? args[7] : "rmqdump_java_producer";
            DefaultMQProducer p = new DefaultMQProducer(group);
            p.setNamesrvAddr(namesrv);
            p.setInstanceName("e2e_" + System.nanoTime());
            p.setSendMsgTimeout(10000);
            p.start();
            String[] tags = {"TagA", "TagB", "TagC"};
            List<Object> results = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                results.add(null);
            }
            long t0 = System.nanoTime();
            CountDownLatch done = new CountDownLatch(count);
            for (int i = 0; i < count; i++) {
                Message m = new Message(topic, tags[i % 3], body(size, i));
                m.setKeys("key-" + i);
                m.putUserProperty("color", "red");
                final int n = i;
                if (async) {
                    p.send(m, new SendCallback() {
                        @Override
                        public void onSuccess(SendResult r) {
                            results.set(n, Main.result(r));
                            done.countDown();
                        }

                        @Override
                        public void onException(Throwable t) {
                            results.set(n, Main.failure(t));
                            done.countDown();
                        }
                    });
                } else {
                    try {
                        results.set(n, Main.result(p.send(m)));
                    } catch (Exception e) {
                        results.set(n, Main.failure(e));
                    }
                    done.countDown();
                }
            }
            done.await(120, TimeUnit.SECONDS);
            long elapsed = System.nanoTime() - t0;
            p.shutdown();
            int ok = 0;
            for (Object r : results) {
                if (r != null && Boolean.TRUE.equals(((Map<?, ?>) r).get("ok"))) {
                    ok++;
                }
            }
            out.put("client_version", Main.clientVersion());
            out.put("mode", args[5]);
            out.put("count", count);
            out.put("size", size);
            out.put("ok", ok);
            out.put("elapsed_s", elapsed / 1e9);
            out.put("results", results);
            Files.write(Paths.get(args[6]), Json.write(out).getBytes(StandardCharsets.UTF_8));
            System.out.printf("java producer: %d of %d ok in %.3f s%n", ok, count, elapsed / 1e9);
            System.exit(ok == count ? 0 : 1);
        } else {
            String namesrv = args[1];
            String topic = args[2];
            int count = Integer.parseInt(args[3]);
            DefaultLitePullConsumer c = new DefaultLitePullConsumer("rmqdump_java_reader_" + System.nanoTime());
            c.setNamesrvAddr(namesrv);
            c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
            c.subscribe(topic, "*");
            c.start();
            Map<String, Object> got = new TreeMap<>();
            long t0 = System.currentTimeMillis();
            while (got.size() < count && System.currentTimeMillis() - t0 < 60_000) {
                for (MessageExt m : c.poll(1000)) {
                    got.put(m.getMsgId(), Main.describe(m));
                }
            }
            c.shutdown();
            out.put("topic", topic);
            out.put("messages", new ArrayList<>(got.values()));
            Files.write(Paths.get(args[4]), Json.write(out).getBytes(StandardCharsets.UTF_8));
            System.exit(got.size() >= count ? 0 : 1);
        }
    }
}
