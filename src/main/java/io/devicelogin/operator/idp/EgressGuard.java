package io.devicelogin.operator.idp;

import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The addresses the endpoints of a namespaced IdentityProvider may not reach ({@code IDP_DENIED_CIDRS}), and the
 * resolver that turns their host names into addresses. A tenant chooses a namespaced provider's issuer (and so, through
 * discovery, every endpoint): without this, the operator would send requests for the tenant to the node's loopback,
 * the cloud metadata service or the operator's own port. ClusterIdentityProviders belong to the admin and are exempt.
 *
 * <p>The check is made on the address actually connected to ({@link BoundedHttpSender} connects only to an address
 * this guard resolved and allowed, and checks the connected socket again for https), so a name that resolves to an
 * allowed address for one request and to a denied one for the next (DNS rebinding) gains nothing.
 */
public final class EgressGuard {

  /** The operator's default {@code IDP_DENIED_CIDRS}: loopback, link-local (cloud metadata), "this network". */
  public static final String DEFAULT_DENIED_CIDRS = "127.0.0.0/8,::1/128,169.254.0.0/16,fe80::/10,0.0.0.0/8";

  /** Resolves a host name to its addresses; injectable so tests can make a name resolve anywhere. */
  @FunctionalInterface
  public interface Resolver {
    InetAddress[] resolve(String host) throws UnknownHostException;
  }

  /** The JVM's resolver. */
  public static final Resolver SYSTEM_RESOLVER = InetAddress::getAllByName;

  /** A connection refused because its address is in the denied ranges; no byte was sent. */
  static final class EndpointNotAllowedException extends IOException {
    EndpointNotAllowedException() {
      super("the host resolves to an address in IDP_DENIED_CIDRS");
    }
  }

  private static final Pattern IPV4 = Pattern.compile("(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})");

  private static final Pattern IPV6 = Pattern.compile("[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*");

  private final List<Cidr> denied;
  private final Resolver resolver;

  private EgressGuard(List<Cidr> denied, Resolver resolver) {
    this.denied = List.copyOf(denied);
    this.resolver = resolver;
  }

  /** The default: {@value #DEFAULT_DENIED_CIDRS}. */
  public static EgressGuard defaults() {
    return parse(DEFAULT_DENIED_CIDRS);
  }

  /** Denies nothing (IDP_DENIED_CIDRS set empty: tests, the demo on 127.0.0.1). */
  public static EgressGuard none() {
    return new EgressGuard(List.of(), SYSTEM_RESOLVER);
  }

  /**
   * Parses a comma-separated list of CIDRs ({@code 10.0.0.0/8,fd00::/8}); blank denies nothing.
   *
   * @throws IllegalArgumentException naming the first entry that is not a CIDR
   */
  public static EgressGuard parse(String cidrs) {
    List<Cidr> parsed = new ArrayList<>();
    for (String raw : cidrs.split(",", -1)) {
      String entry = raw.trim();
      if (!entry.isEmpty()) {
        parsed.add(Cidr.parse(entry));
      }
    }
    return new EgressGuard(parsed, SYSTEM_RESOLVER);
  }

  /** This guard with another resolver (tests). */
  public EgressGuard withResolver(Resolver newResolver) {
    return new EgressGuard(denied, newResolver);
  }

  /** True when nothing is denied: connections need no check. */
  public boolean deniesNothing() {
    return denied.isEmpty();
  }

  /** Whether {@code address} is in a denied range. IPv4-mapped IPv6 addresses count as their IPv4 address. */
  public boolean denies(InetAddress address) {
    byte[] bytes = address.getAddress();
    for (Cidr cidr : denied) {
      if (cidr.contains(bytes)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Resolves {@code host} once and gives the address to connect to (the first), without a host name attached, so
   * connecting to it does not resolve again.
   *
   * @throws EndpointNotAllowedException if any address the name resolves to is denied
   */
  InetAddress allowedAddress(String host) throws IOException {
    InetAddress[] addresses = resolver.resolve(host);
    if (addresses == null || addresses.length == 0) {
      throw new UnknownHostException(host);
    }
    for (InetAddress address : addresses) {
      if (denies(address)) {
        throw new EndpointNotAllowedException();
      }
    }
    return InetAddress.getByAddress(addresses[0].getAddress());
  }

  /** The denied ranges, as given ("127.0.0.0/8"); part of cache keys. */
  @Override
  public String toString() {
    return String.join(",", denied.stream().map(Cidr::toString).toList());
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof EgressGuard guard && guard.toString().equals(toString()) && guard.resolver == resolver;
  }

  @Override
  public int hashCode() {
    return toString().hashCode();
  }

  /** One range: an address and how many leading bits of it must match. */
  private record Cidr(byte[] network, int prefix, String text) {

    static Cidr parse(String text) {
      int slash = text.indexOf('/');
      if (slash < 0) {
        throw notCidr(text);
      }
      byte[] address = literal(text.substring(0, slash));
      int prefix;
      try {
        prefix = Integer.parseInt(text.substring(slash + 1));
      } catch (NumberFormatException e) {
        throw notCidr(text);
      }
      if (address == null) {
        throw notCidr(text);
      }
      if (prefix < 0 || prefix > address.length * 8) {
        throw notCidr(text);
      }
      return new Cidr(address, prefix, text.toLowerCase(Locale.ROOT));
    }

    /** The bytes of an IPv4 or IPv6 literal, or null: never a name lookup. */
    private static byte[] literal(String text) {
      java.util.regex.Matcher ipv4 = IPV4.matcher(text);
      if (ipv4.matches()) {
        byte[] bytes = new byte[4];
        for (int i = 0; i < 4; i++) {
          int octet = Integer.parseInt(ipv4.group(i + 1));
          if (octet > 255) {
            return null;
          }
          bytes[i] = (byte) octet;
        }
        return bytes;
      }
      if (!IPV6.matcher(text).matches()) {
        return null;
      }
      try {
        // with a ':' the JDK reads an IPv6 literal and never looks the text up as a name
        return InetAddress.getByName(text).getAddress();
      } catch (UnknownHostException e) {
        return null;
      }
    }

    private static IllegalArgumentException notCidr(String text) {
      return new IllegalArgumentException("IDP_DENIED_CIDRS: '" + text + "' is not a CIDR (an IPv4 or IPv6 address, "
          + "'/' and a prefix length, e.g. 169.254.0.0/16 or fe80::/10)");
    }

    boolean contains(byte[] address) {
      if (address.length != network.length) {
        return false;
      }
      int full = prefix / 8;
      for (int i = 0; i < full; i++) {
        if (address[i] != network[i]) {
          return false;
        }
      }
      int rest = prefix % 8;
      if (rest == 0) {
        return true;
      }
      int mask = (0xff << (8 - rest)) & 0xff;
      return (address[full] & mask) == (network[full] & mask);
    }

    @Override
    public String toString() {
      return text;
    }
  }
}
