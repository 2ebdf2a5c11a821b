// Prints the path of the server binary the end-to-end tests run (see start-app.sh):
// 1. E2E_PROFILE (release or debug) names it, as `make e2e` does;
// 2. else the profile of a server of this workspace that is running now: `cargo leptos
//    end-to-end` starts the build it just made before it runs the suite;
// 3. else the newer of the release and the debug build.
const fs = require("node:fs");
const path = require("node:path");

const PROFILES = ["release", "debug"];

function serverBin() {
  const target = process.env.E2E_TARGET_DIR ?? path.resolve(__dirname, "../../target");
  const bin = (profile) => path.join(target, profile, "server");
  if (process.env.E2E_PROFILE) return bin(process.env.E2E_PROFILE);

  const running = new Set();
  let pids = [];
  try {
    pids = fs.readdirSync("/proc").filter((entry) => /^\d+$/.test(entry));
  } catch {
    // Not Linux: no process list to read.
  }
  for (const pid of pids) {
    try {
      const exe = fs.readlinkSync(`/proc/${pid}/exe`);
      for (const profile of PROFILES) if (exe === bin(profile)) running.add(profile);
    } catch {
      // Gone, or not ours to read.
    }
  }
  if (running.size === 1) return bin([...running][0]);

  const mtime = (file) => (fs.existsSync(file) ? fs.statSync(file).mtimeMs : -1);
  return PROFILES.map(bin).sort((a, b) => mtime(b) - mtime(a))[0];
}

module.exports = { serverBin };
if (require.main === module) console.log(serverBin());
