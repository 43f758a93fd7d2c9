# syntax=docker/dockerfile:1
# The operator image: a static-ish Rust binary on distroless (glibc, CA
# certificates, no shell), running as the unprivileged user 65532.
#
#   docker build -t chatgroup-operator .
#
# The chart expects the binary at /chatgroup-operator and passes `run`.

ARG RUST_IMAGE=rust:1-bookworm

FROM ${RUST_IMAGE} AS build
WORKDIR /src
# The whole workspace except what .dockerignore drops (target, .venv, .git): cargo
# resolves every workspace member from its manifest and declared targets, so the
# test-infrastructure crates must be present even though only the operator is built.
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --profile dist --locked -p chatgroup-operator --bin chatgroup-operator \
    && install -D -m 0755 target/dist/chatgroup-operator /out/chatgroup-operator

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/chatgroup-operator /chatgroup-operator
USER 65532:65532
ENTRYPOINT ["/chatgroup-operator"]
CMD ["run"]
