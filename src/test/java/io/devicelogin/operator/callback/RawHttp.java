package io.devicelogin.operator.callback;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/** A raw HTTP/1.1 client for hostile requests: one request per connection, the answer read to its end. */
final class RawHttp {

  private RawHttp() {}

  record Reply(String raw, int status, String head, String body) {
    String header(String name) {
      return head.lines().skip(1).filter(l -> l.toLowerCase().startsWith(name.toLowerCase() + ":"))
          .map(l -> l.substring(name.length() + 1).trim()).findFirst().orElse(null);
    }
  }

  static Reply send(int port, String request) throws IOException {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
      socket.setSoTimeout(10_000);
      OutputStream out = socket.getOutputStream();
      out.write(request.getBytes(StandardCharsets.UTF_8));
      out.flush();
      return read(socket.getInputStream(), request);
    }
  }

  /** Reads an answer to its end (the server closes, or resets after answering with request bytes unread). */
  static Reply read(InputStream in, String request) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    byte[] buffer = new byte[8192];
    try {
      for (int n; (n = in.read(buffer)) >= 0; ) {
        bytes.write(buffer, 0, n);
      }
    } catch (java.net.SocketException reset) {
      // what the server answered before is in bytes
    }
    String raw = bytes.toString(StandardCharsets.UTF_8);
    int end = raw.indexOf("\r\n\r\n");
    assertThat(end).as("a complete response head to %s", request.lines().findFirst().orElse("")).isPositive();
    return new Reply(raw, Integer.parseInt(raw.substring(9, 12)), raw.substring(0, end), raw.substring(end + 4));
  }
}
