# Dockerfile - the same image layout as tools/image/build (`make image`), for those who build with a
# Docker engine. NOT BUILT OR TESTED HERE: the development machine has no Docker engine; the image we
# test and release is the one tools/image/build assembles with umoci (reproducible, libraries checked
# against Debian's md5sums). Layout: /usr/bin/app-platform (release build, stripped), exactly the shared
# libraries it links plus the program interpreter, Debian's copyright files of those packages,
# Mozilla's CA bundle from ca-certificates, /etc/passwd and /etc/group with app-platform (1001:1001),
# /tmp 1777, no shell. Entrypoint /usr/bin/app-platform, user 1001:1001.
FROM debian:bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential pkg-config meson ninja-build ca-certificates \
      libssl-dev libyaml-dev libjansson-dev zlib1g-dev libcurl4-openssl-dev libgit2-dev libssh2-1-dev \
      libmicrohttpd-dev libcjose-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN meson setup /build -Dtests=false -Dbuildtype=release -Db_ndebug=true -Dc_args=-Wno-error=maybe-uninitialized && ninja -C /build \
    && mkdir -p /rootfs/usr/bin /rootfs/etc/ssl/certs /rootfs/tmp /rootfs/usr/share/doc \
    && strip --strip-all -o /rootfs/usr/bin/app-platform /build/app-platform \
    && ldd /build/app-platform | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' \
       | while read -r lib; do \
           real=$(readlink -f "$lib"); mkdir -p "/rootfs$(dirname "$lib")"; cp "$real" "/rootfs$lib"; \
           pkg=$(dpkg -S "$real" 2>/dev/null | head -n1 | cut -d: -f1 || true); \
           [ -z "$pkg" ] || { mkdir -p "/rootfs/usr/share/doc/$pkg"; \
             cp "/usr/share/doc/$pkg/copyright" "/rootfs/usr/share/doc/$pkg/copyright" 2>/dev/null || true; }; \
         done \
    && cp /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/ \
    && mkdir -p /rootfs/usr/share/doc/ca-certificates && cp /usr/share/doc/ca-certificates/copyright /rootfs/usr/share/doc/ca-certificates/ \
    && printf 'root:x:0:0:root:/root:/sbin/nologin\napp-platform:x:1001:1001:app-platform:/nonexistent:/sbin/nologin\n' >/rootfs/etc/passwd \
    && printf 'root:x:0:\napp-platform:x:1001:\n' >/rootfs/etc/group \
    && printf 'passwd: files\ngroup: files\nhosts: files dns\n' >/rootfs/etc/nsswitch.conf \
    && chmod 1777 /rootfs/tmp

FROM scratch
COPY --from=build /rootfs/ /
USER 1001:1001
ENTRYPOINT ["/usr/bin/app-platform"]
LABEL org.opencontainers.image.source="https://github.com/labrats-work/app-platform" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.title="app-platform"
