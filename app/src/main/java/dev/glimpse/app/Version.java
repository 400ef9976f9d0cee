package dev.glimpse.app;

import picocli.CommandLine;

/** Version line for {@code glimpse --version}, from the jar manifest when built. */
final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
        String v = Main.class.getPackage().getImplementationVersion();
        return new String[] {"glimpse " + (v == null ? "development build" : v),
                "Java " + Runtime.version() + " (" + System.getProperty("java.vendor") + ")"};
    }
}
