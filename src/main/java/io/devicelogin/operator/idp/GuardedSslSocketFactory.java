package io.devicelogin.operator.idp;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketAddress;
import javax.net.ssl.SSLSocketFactory;

/**
 * An {@link SSLSocketFactory} that lets TLS run only over a connection to an address the {@link EgressGuard} allows.
 *
 * <p>The JDK's {@code HttpsURLConnection} asks the factory for an unconnected socket, connects it to the host, and
 * layers TLS over it with {@link #createSocket(Socket, String, int, boolean)} when it is not already an SSL socket.
 * This factory hands out a plain {@link GuardedSocket}, whose {@code connect} resolves the host through the guard's
 * resolver and connects only to the allowed address it got; the layering step then checks the address the socket is
 * actually connected to before any TLS byte is sent.
 */
final class GuardedSslSocketFactory extends SSLSocketFactory {

  private final SSLSocketFactory delegate;
  private final EgressGuard guard;

  GuardedSslSocketFactory(SSLSocketFactory delegate, EgressGuard guard) {
    this.delegate = delegate;
    this.guard = guard;
  }

  @Override
  public Socket createSocket() {
    return new GuardedSocket(guard);
  }

  @Override
  public Socket createSocket(Socket socket, String host, int port, boolean autoClose) throws IOException {
    InetAddress connected = socket.getInetAddress();
    if (connected == null || guard.denies(connected)) {
      socket.close();
      throw new EgressGuard.EndpointNotAllowedException();
    }
    return delegate.createSocket(socket, host, port, autoClose);
  }

  @Override
  public Socket createSocket(String host, int port) throws IOException {
    Socket plain = new GuardedSocket(guard);
    plain.connect(InetSocketAddress.createUnresolved(host, port));
    return createSocket(plain, host, port, true);
  }

  @Override
  public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
    return createSocket(host, port);
  }

  @Override
  public Socket createSocket(InetAddress host, int port) throws IOException {
    return createSocket(host.getHostAddress(), port);
  }

  @Override
  public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort)
      throws IOException {
    return createSocket(address.getHostAddress(), port);
  }

  @Override
  public String[] getDefaultCipherSuites() {
    return delegate.getDefaultCipherSuites();
  }

  @Override
  public String[] getSupportedCipherSuites() {
    return delegate.getSupportedCipherSuites();
  }

  /** A plain socket that connects only to an address the guard allows, resolving the host name itself. */
  private static final class GuardedSocket extends Socket {

    private final EgressGuard guard;

    GuardedSocket(EgressGuard guard) {
      this.guard = guard;
    }

    @Override
    public void connect(SocketAddress endpoint, int timeout) throws IOException {
      InetSocketAddress target = (InetSocketAddress) endpoint;
      super.connect(new InetSocketAddress(guard.allowedAddress(target.getHostString()), target.getPort()), timeout);
    }
  }
}
