import { describe, expect, it } from "vitest";
import { dockerConnection, dockerEndpoint, dockerUnreachable } from "./docker-connection.js";
import { DockerRuntime } from "./docker-runtime.js";

const files = (f: string) => Buffer.from(`contents of ${f}`);

describe("dockerConnection (DOCKER_HOST by docker-modem's rules)", () => {
  it("uses the default socket without DOCKER_HOST, and a unix or npipe path as given", () => {
    expect(dockerConnection({})).toMatchObject({ socketPath: "/var/run/docker.sock", host: undefined });
    expect(dockerConnection({ dockerHost: "unix:///run/user/1000/docker.sock" })).toMatchObject({
      socketPath: "/run/user/1000/docker.sock",
      host: undefined,
    });
    expect(dockerConnection({ dockerHost: "npipe:////./pipe/docker_engine" }).socketPath).toBe(
      "//./pipe/docker_engine",
    );
  });

  it("speaks plain HTTP to tcp:// (port 2375 by default) and to a bare host:port", () => {
    expect(dockerConnection({ dockerHost: "tcp://docker:2375" })).toMatchObject({
      host: "docker",
      port: "2375",
      protocol: "http",
      socketPath: undefined,
    });
    expect(dockerConnection({ dockerHost: "tcp://docker" })).toMatchObject({
      port: "2375",
      protocol: "http",
    });
    expect(dockerConnection({ dockerHost: "10.0.0.5:2380" })).toMatchObject({
      host: "10.0.0.5",
      port: "2380",
    });
  });

  it("speaks TLS on port 2376 or with DOCKER_TLS_VERIFY, with the certificates from DOCKER_CERT_PATH", () => {
    expect(dockerConnection({ dockerHost: "tcp://docker:2376" }).protocol).toBe("https");
    const tls = dockerConnection(
      { dockerHost: "tcp://docker:2380", tlsVerify: true, certPath: "/certs" },
      files,
    );
    expect(tls).toMatchObject({ host: "docker", port: "2380", protocol: "https" });
    expect([tls.ca, tls.cert, tls.key].map(String)).toEqual([
      "contents of /certs/ca.pem",
      "contents of /certs/cert.pem",
      "contents of /certs/key.pem",
    ]);
  });

  it("reaches an ssh:// engine as its user through the ssh agent", () => {
    expect(
      dockerConnection({ dockerHost: "ssh://deploy@build-box", sshAuthSock: "/tmp/agent.sock" }),
    ).toMatchObject({
      host: "build-box",
      protocol: "ssh",
      username: "deploy",
      sshOptions: { agent: "/tmp/agent.sock" },
    });
  });

  it("reads its variables from the environment it is given", () => {
    const env = {
      DOCKER_HOST: " tcp://d:2376 ",
      DOCKER_TLS_VERIFY: "1",
      DOCKER_CERT_PATH: "/c",
      SSH_AUTH_SOCK: "",
    };
    expect(dockerEndpoint(env)).toEqual({
      dockerHost: "tcp://d:2376",
      tlsVerify: true,
      certPath: "/c",
      sshAuthSock: undefined,
    });
    expect(dockerEndpoint({})).toEqual({
      dockerHost: undefined,
      tlsVerify: false,
      certPath: undefined,
      sshAuthSock: undefined,
    });
  });

  it("refuses a DOCKER_HOST it cannot read, saying what to use", () => {
    expect(() => dockerConnection({ dockerHost: "tcp://[broken" })).toThrow(
      /is not an engine address: use e\.g\. tcp:/,
    );
  });
});

describe("Docker unreachable: the fix that applies", () => {
  it("EACCES on the socket says: join the docker group, not: start Docker", () => {
    const cause = Object.assign(new Error("connect EACCES /var/run/docker.sock"), { code: "EACCES" });
    const err = dockerUnreachable(cause, "/var/run/docker.sock");
    expect(err.code).toBe("DOCKER_PERMISSION_DENIED");
    expect(err.message).toContain("sudo usermod -aG docker $USER, then log in again");
    expect(err.message).not.toContain("start Docker");
  });

  it("a socket that is not there (a real connect) says: start Docker, or set DOCKER_HOST", async () => {
    const rt = new DockerRuntime({ dockerHost: "unix:///nonexistent/nestbox-test/docker.sock" });
    const err = await rt.version().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "DOCKER_UNREACHABLE" });
    expect((err as Error).message).toMatch(
      /cannot reach the Docker engine at unix:\/\/\/nonexistent\/nestbox-test\/docker.sock .*ENOENT.*start Docker, or set DOCKER_HOST/,
    );
  });
});
