package io.devicelogin.operator.idp;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

class BoundedCacheTest {

  @Test
  void theLeastRecentlyUsedEntryGoesFirst() {
    BoundedCache<String> cache = new BoundedCache<>(2, Duration.ofHours(1), Clock.systemUTC());
    cache.put("a", "1");
    cache.put("b", "2");
    assertThat(cache.get("a")).isEqualTo("1");
    cache.put("c", "3");
    assertThat(cache.get("b")).isNull();
    assertThat(cache.get("a")).isEqualTo("1");
    assertThat(cache.size()).isEqualTo(2);
  }

  @Test
  void entriesExpire() {
    Instant start = Instant.parse("2026-01-01T00:00:00Z");
    Clock[] clock = {Clock.fixed(start, ZoneOffset.UTC)};
    Clock moving = new Clock() {
      @Override
      public java.time.ZoneId getZone() {
        return ZoneOffset.UTC;
      }

      @Override
      public Clock withZone(java.time.ZoneId zone) {
        return this;
      }

      @Override
      public Instant instant() {
        return clock[0].instant();
      }
    };
    BoundedCache<String> cache = new BoundedCache<>(10, Duration.ofMinutes(10), moving);
    cache.put("a", "1");
    clock[0] = Clock.fixed(start.plus(Duration.ofMinutes(10)).minusMillis(1), ZoneOffset.UTC);
    assertThat(cache.get("a")).isEqualTo("1");
    clock[0] = Clock.fixed(start.plus(Duration.ofMinutes(10)), ZoneOffset.UTC);
    assertThat(cache.get("a")).isNull();
    assertThat(cache.size()).isZero();
  }

  @Test
  void keysDifferForInputsThatHashCodesOrJoiningWouldConfuse() {
    assertThat("Aa".hashCode()).isEqualTo("BB".hashCode());
    assertThat(BoundedCache.key("issuer", "Aa")).isNotEqualTo(BoundedCache.key("issuer", "BB"));
    assertThat(BoundedCache.key("a\nb", "c")).isNotEqualTo(BoundedCache.key("a", "b\nc"));
    assertThat(BoundedCache.key("a", null)).isNotEqualTo(BoundedCache.key("a", ""));
    assertThat(BoundedCache.key("a", "b")).isEqualTo(BoundedCache.key("a", "b")).hasSize(64);
  }
}
