package io.devicelogin.operator.secret;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class NamesTest {

  /** Kubernetes' IsDNS1123Subdomain (what Secret names must satisfy). */
  static final Pattern DNS1123_SUBDOMAIN =
      Pattern.compile("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$");

  /** Kubernetes' IsDNS1123Label. */
  static final Pattern DNS1123_LABEL = Pattern.compile("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$");

  /** Kubernetes' label value syntax. */
  static final Pattern LABEL_VALUE = Pattern.compile("^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$");

  static List<String> usernames() {
    List<String> names = new ArrayList<>(List.of(
        "alice",
        "Alice@Example.COM",
        "alice.smith+k8s@sub.example.co.uk",
        "bob_the_builder",
        "CN=Bob,OU=Eng,DC=corp",
        "f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
        "---leading-and-trailing---",
        "..dots..",
        "@",
        "",
        " ",
        "   spaced   out   ",
        "José.Núñez@example.es",
        "山田太郎",
        "山田@例え.jp",
        "Ærøskøbing",
        "İstanbul",
        "\u212Aelvin", // KELVIN SIGN lower-cases to ASCII k
        "👩‍💻@example.com",
        "🙂",
        "tab\tand\nnewline",
        "a".repeat(63),
        "a".repeat(64),
        "a".repeat(247),
        "a".repeat(248),
        "a".repeat(253),
        "a".repeat(10_000),
        "ab-".repeat(200),
        "-".repeat(500),
        "x".repeat(241) + "@@@@@@@@@@" + "y",
        "Ünïcödé".repeat(100) + "@example.com"));
    Random random = new Random(1123);
    String alphabet = "abcXYZ019.-_@+ /é山🙂\u0000";
    for (int i = 0; i < 300; i++) {
      StringBuilder b = new StringBuilder();
      int length = random.nextInt(400);
      for (int j = 0; j < length; j++) {
        b.appendCodePoint(alphabet.codePointAt(alphabet.offsetByCodePoints(0, random.nextInt(
            alphabet.codePointCount(0, alphabet.length())))));
      }
      names.add(b.toString());
    }
    return names;
  }

  @Test
  void tokenSecretNameIsAValidDns1123Subdomain() {
    for (String username : usernames()) {
      assertThat(Names.prefixed("oidc-", username)).as("secret name for %s", username)
          .startsWith("oidc-").hasSizeLessThanOrEqualTo(253).matches(DNS1123_SUBDOMAIN);
    }
  }

  @Test
  void grantSecretNameIsAValidDns1123Subdomain() {
    for (String loginName : usernames()) {
      assertThat(Names.prefixed("devicelogin-grant-", loginName)).as("grant secret name for %s", loginName)
          .hasSizeLessThanOrEqualTo(Names.MAX_NAME).matches(DNS1123_SUBDOMAIN);
    }
  }

  @Test
  void labelValueIsValid() {
    for (String username : usernames()) {
      assertThat(Names.dnsSafe(username, Names.MAX_LABEL_VALUE)).as("label value for %s", username)
          .isNotEmpty()
          .hasSizeLessThanOrEqualTo(63)
          .matches(LABEL_VALUE)
          .matches(DNS1123_LABEL)
          .doesNotContain("--");
    }
  }

  @Test
  void readableNamesForOrdinaryUsernames() {
    assertThat(Names.dnsSafe("Alice@Example.COM", 63)).isEqualTo("alice-example-com");
    assertThat(Names.dnsSafe("alice.smith+k8s@sub.example.co.uk", 63)).isEqualTo("alice-smith-k8s-sub-example-co-uk");
    assertThat(Names.dnsSafe("---x---", 63)).isEqualTo("x");
    assertThat(Names.dnsSafe("José.Núñez@example.es", 63)).isEqualTo("jos-n-ez-example-es");
    assertThat(Names.prefixed("oidc-", "alice@example.com")).isEqualTo("oidc-alice-example-com");
    assertThat(Names.dnsSafe("a".repeat(63), 63)).isEqualTo("a".repeat(63));
  }

  @Test
  void namesWithNothingUsableGetAHash() {
    assertThat(Names.dnsSafe("山田太郎", 63)).matches("x-[0-9a-f]{10}");
    assertThat(Names.dnsSafe("", 63)).matches("x-[0-9a-f]{10}");
    assertThat(Names.dnsSafe("山田太郎", 63)).isNotEqualTo(Names.dnsSafe("鈴木一郎", 63));
    assertThat(Names.dnsSafe("山田太郎", 63)).as("deterministic").isEqualTo(Names.dnsSafe("山田太郎", 63));
  }

  @Test
  void tooLongNamesAreCutWithAHashAndStayWithinTheLimit() {
    String cut = Names.dnsSafe("a".repeat(64), 63);
    assertThat(cut).hasSize(63).matches("a{52}-[0-9a-f]{10}");
    // the cut lands on a '-': it must not leave "--" or a trailing '-' before the hash
    // "abc-" repeated: the 52 characters kept before "-<hash>" end in '-'
    String dashy = Names.dnsSafe("abc-".repeat(200), 63);
    assertThat(dashy).matches(DNS1123_LABEL).doesNotContain("--").hasSizeLessThanOrEqualTo(63);
  }

  @Test
  void distinctLongInputsStayDistinct() {
    String head = "very.long.user.name.".repeat(30);
    Set<String> secretNames = new HashSet<>();
    Set<String> labels = new HashSet<>();
    for (int i = 0; i < 300; i++) {
      String username = head + i + "@example.com";
      secretNames.add(Names.prefixed("oidc-", username));
      labels.add(Names.dnsSafe(username, Names.MAX_LABEL_VALUE));
    }
    assertThat(secretNames).hasSize(300);
    assertThat(labels).hasSize(300);
    // inputs that only differ in characters the cleaning removes, once long, still differ
    assertThat(Names.prefixed("oidc-", head + "a@b")).isNotEqualTo(Names.prefixed("oidc-", head + "a.b"));
  }
}
