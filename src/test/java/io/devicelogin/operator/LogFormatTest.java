package io.devicelogin.operator;

import static io.devicelogin.operator.OperatorSettingsTest.env;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.OutputStreamAppender;
import ch.qos.logback.classic.joran.JoranConfigurator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class LogFormatTest {

  @Test
  void textByDefaultJsonOnRequest() {
    assertThat(LogFormat.fromEnvironment(env())).isEqualTo(LogFormat.TEXT);
    assertThat(LogFormat.fromEnvironment(env("LOG_FORMAT", "text"))).isEqualTo(LogFormat.TEXT);
    assertThat(LogFormat.fromEnvironment(env("LOG_FORMAT", " JSON "))).isEqualTo(LogFormat.JSON);
    assertThatThrownBy(() -> LogFormat.fromEnvironment(env("LOG_FORMAT", "logfmt")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("LOG_FORMAT must be text or json, got 'logfmt'");
  }

  @Test
  void jsonConfigurationWritesOneJsonObjectPerLineWithTheFormattedMessage() throws Exception {
    List<String> lines = logWith(LogFormat.JSON, "DeviceLogin {}/{}: started", "team-a", "alice");
    assertThat(lines).hasSize(1);
    JsonNode event = new ObjectMapper().readTree(lines.get(0));
    assertThat(event.get("level").asText()).isEqualTo("INFO");
    assertThat(event.get("loggerName").asText()).isEqualTo("io.devicelogin.operator.Test");
    assertThat(event.get("formattedMessage").asText()).isEqualTo("DeviceLogin team-a/alice: started");
    assertThat(event.has("timestamp")).isTrue();
    assertThat(event.has("arguments")).as("arguments only once, inside the formatted message").isFalse();
  }

  @Test
  void textConfigurationWritesOneReadableLine() throws Exception {
    List<String> lines = logWith(LogFormat.TEXT, "DeviceLogin {}/{}: started", "team-a", "alice");
    assertThat(lines).singleElement().asString()
        .contains("INFO ").endsWith("io.devicelogin.operator.Test - DeviceLogin team-a/alice: started");
  }

  private static List<String> logWith(LogFormat format, String message, Object... args) throws Exception {
    LoggerContext context = new LoggerContext();
    context.setMDCAdapter(new ch.qos.logback.classic.util.LogbackMDCAdapter());
    JoranConfigurator configurator = new JoranConfigurator();
    configurator.setContext(context);
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    try {
      configurator.doConfigure(LogFormatTest.class.getClassLoader().getResource(format.configuration()));
      // the configured console appender and its encoder, writing here instead of to stdout
      var appender = (OutputStreamAppender<ILoggingEvent>) context.getLogger(Logger.ROOT_LOGGER_NAME)
          .getAppender("STDOUT");
      appender.setOutputStream(captured);
      context.getLogger("io.devicelogin.operator.Test").info(message, args);
    } finally {
      context.stop();
    }
    return captured.toString(StandardCharsets.UTF_8).lines().toList();
  }
}
