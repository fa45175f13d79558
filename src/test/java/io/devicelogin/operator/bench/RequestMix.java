package io.devicelogin.operator.bench;

import java.io.Serializable;
import java.util.Map;

/**
 * An implementation's API requests in a run, by kind ({@link ApiObserver#key}): reads of one object (GET) and of
 * collections (LIST), watch starts, Events written, and every other write (POST, PUT, PATCH, DELETE).
 */
record RequestMix(long gets, long lists, long watches, long writesWithoutEvents, long events)
    implements Serializable {

  static RequestMix of(Map<String, Long> counts) {
    long gets = 0;
    long lists = 0;
    long watches = 0;
    long writes = 0;
    long events = 0;
    for (Map.Entry<String, Long> e : counts.entrySet()) {
      long n = e.getValue();
      switch (ApiObserver.verb(e.getKey())) {
        case "GET" -> gets += n;
        case "LIST" -> lists += n;
        case "WATCH" -> watches += n;
        default -> {
          if (ApiObserver.resource(e.getKey()).equals("events")) {
            events += n;
          } else {
            writes += n;
          }
        }
      }
    }
    return new RequestMix(gets, lists, watches, writes, events);
  }

  long reads() {
    return gets + lists;
  }

  long all() {
    return reads() + watches + writesWithoutEvents + events;
  }
}
