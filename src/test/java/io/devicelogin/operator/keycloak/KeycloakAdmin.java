package io.devicelogin.operator.keycloak;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * Changes the state of the {@value KeycloakServer#REALM} realm at runtime through Keycloak's Admin REST API,
 * authenticated as the bootstrap admin via the master realm's {@code admin-cli} client.
 * Obtain one with {@link KeycloakServer#admin()}.
 */
public final class KeycloakAdmin {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final HttpClient http;
  private final URI baseUrl;
  private final String realmPath;

  KeycloakAdmin(HttpClient http, URI baseUrl) {
    this.http = http;
    this.baseUrl = baseUrl;
    this.realmPath = "/admin/realms/" + KeycloakServer.REALM;
  }

  /**
   * Ends every session of {@code username}, so all refresh tokens issued to the user stop working: logs out the
   * online sessions and, because that leaves offline sessions (scope {@code offline_access}) alone, also revokes
   * the user's consents, which drops their offline tokens.
   */
  public void logoutUser(String username) {
    String token = adminToken();
    String userPath = realmPath + "/users/" + userId(token, username);
    send(token, "POST", userPath + "/logout", null);
    for (JsonNode consent : send(token, "GET", userPath + "/consents", null)) {
      send(token, "DELETE", userPath + "/consents/" + encode(consent.get("clientId").asText()), null);
    }
  }

  /** Applies {@code changes} (fields of a RealmRepresentation, e.g. {@code accessTokenLifespan}) to the realm. */
  public void updateRealm(Map<String, ?> changes) {
    send(adminToken(), "PUT", realmPath, JSON.valueToTree(changes));
  }

  /** Sets (adds or overwrites) attributes of the client {@code clientId}, e.g. {@code oauth2.device.polling.interval}. */
  public void updateClientAttributes(String clientId, Map<String, String> attributes) {
    String token = adminToken();
    ObjectNode client = (ObjectNode) single(send(token, "GET",
        realmPath + "/clients?clientId=" + encode(clientId), null), "client " + clientId);
    ObjectNode merged = client.has("attributes") ? (ObjectNode) client.get("attributes") : client.putObject("attributes");
    attributes.forEach(merged::put);
    send(token, "PUT", realmPath + "/clients/" + client.get("id").asText(), client);
  }

  private String userId(String token, String username) {
    JsonNode users = send(token, "GET", realmPath + "/users?exact=true&username=" + encode(username), null);
    return single(users, "user " + username).get("id").asText();
  }

  private String adminToken() {
    String form = "grant_type=password&client_id=admin-cli"
        + "&username=" + encode(KeycloakServer.ADMIN_USERNAME)
        + "&password=" + encode(KeycloakServer.ADMIN_PASSWORD);
    HttpRequest request = HttpRequest.newBuilder(baseUrl.resolve("/realms/master/protocol/openid-connect/token"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .POST(HttpRequest.BodyPublishers.ofString(form))
        .build();
    return parse(execute(request, "admin token request")).get("access_token").asText();
  }

  private JsonNode send(String token, String method, String path, JsonNode body) {
    HttpRequest.Builder request = HttpRequest.newBuilder(baseUrl.resolve(path))
        .header("Authorization", "Bearer " + token)
        .header("Accept", "application/json");
    if (body == null) {
      request.method(method, HttpRequest.BodyPublishers.noBody());
    } else {
      request.header("Content-Type", "application/json")
          .method(method, HttpRequest.BodyPublishers.ofString(body.toString()));
    }
    return parse(execute(request.build(), method + " " + path));
  }

  private String execute(HttpRequest request, String description) {
    try {
      HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() / 100 != 2) {
        throw new IllegalStateException("Keycloak admin API: " + description + " returned HTTP "
            + response.statusCode() + ": " + response.body());
      }
      return response.body();
    } catch (IOException e) {
      throw new IllegalStateException("Keycloak admin API: " + description + " failed", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted during " + description, e);
    }
  }

  private static JsonNode parse(String body) {
    if (body.isEmpty()) {
      return JSON.missingNode();
    }
    try {
      return JSON.readTree(body);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("Keycloak admin API returned invalid JSON", e);
    }
  }

  private static JsonNode single(JsonNode array, String what) {
    if (array.size() != 1) {
      throw new IllegalStateException("Expected exactly one " + what + " in realm " + KeycloakServer.REALM
          + ", found " + array.size());
    }
    return array.get(0);
  }

  private static String encode(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8);
  }
}
