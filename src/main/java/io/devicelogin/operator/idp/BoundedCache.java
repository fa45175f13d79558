package io.devicelogin.operator.idp;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A cache of the IdP client, bounded in size (the least recently used entry goes first) and in age (an entry older
 * than its time to live is not returned), keyed by {@link #key} of everything the value depends on. Tenants create
 * providers, so neither the number of entries nor their lifetime may depend on them. Thread-safe.
 */
final class BoundedCache<V> {

  private record Entry<V>(V value, Instant storedAt) {}

  private final int maxEntries;
  private final Duration timeToLive;
  private final Clock clock;
  private final LinkedHashMap<String, Entry<V>> entries;

  BoundedCache(int maxEntries, Duration timeToLive, Clock clock) {
    this.maxEntries = maxEntries;
    this.timeToLive = timeToLive;
    this.clock = clock;
    this.entries = new LinkedHashMap<>(16, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<String, Entry<V>> eldest) {
        return size() > BoundedCache.this.maxEntries;
      }
    };
  }

  /** The value stored under {@code key} less than the time to live ago, or null. */
  synchronized V get(String key) {
    Entry<V> entry = entries.get(key);
    if (entry == null) {
      return null;
    }
    if (!entry.storedAt().plus(timeToLive).isAfter(clock.instant())) {
      entries.remove(key);
      return null;
    }
    return entry.value();
  }

  synchronized void put(String key, V value) {
    entries.put(key, new Entry<>(value, clock.instant()));
  }

  synchronized int size() {
    return entries.size();
  }

  /**
   * A key for all of {@code parts}: the SHA-256 of their lengths and contents, so two different inputs never share
   * an entry (unlike a {@code hashCode}, for which colliding inputs are easy to make). A null part differs from "".
   */
  static String key(String... parts) {
    MessageDigest digest;
    try {
      digest = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from the JVM", e);
    }
    for (String part : parts) {
      if (part == null) {
        digest.update((byte) 0);
        continue;
      }
      byte[] bytes = part.getBytes(StandardCharsets.UTF_8);
      digest.update((byte) 1);
      digest.update(Integer.toString(bytes.length).getBytes(StandardCharsets.US_ASCII));
      digest.update((byte) ':');
      digest.update(bytes);
    }
    return HexFormat.of().formatHex(digest.digest());
  }
}
