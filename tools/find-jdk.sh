# Sourced by ./glimpse, tools/test.sh and .ci/run: sets GLIMPSE_JAVA_HOME to a JDK >= 25.
# Looks at $JAVA_HOME, the java on PATH, then the usual JVM folders. Prints what to install if none.

glimpse_java_major() {
  # prints the feature version (e.g. 25) of the java binary $1, or nothing
  "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p' | head -n 1
}

glimpse_find_jdk() {
  local min=25 candidates=() c home major
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
  if command -v java >/dev/null 2>&1; then
    c=$(readlink -f "$(command -v java)") && candidates+=("$(dirname "$(dirname "$c")")")
  fi
  for c in /usr/lib/jvm/* /usr/java/* /opt/java/* /opt/*jdk* "$HOME"/.sdkman/candidates/java/* "$HOME"/.jdks/*; do
    [ -d "$c" ] && candidates+=("$c")
  done
  for home in "${candidates[@]}"; do
    [ -x "$home/bin/java" ] && [ -x "$home/bin/javac" ] || continue
    major=$(glimpse_java_major "$home/bin/java")
    if [ -n "$major" ] && [ "$major" -ge "$min" ]; then
      GLIMPSE_JAVA_HOME="$home"
      return 0
    fi
  done
  {
    echo "glimpse: no JDK $min or newer found (looked at \$JAVA_HOME, PATH and /usr/lib/jvm)."
    echo "  Install one, e.g. Temurin 25: https://adoptium.net  (Debian/Ubuntu: apt install temurin-25-jdk)"
    echo "  or point JAVA_HOME at it."
  } >&2
  return 1
}
