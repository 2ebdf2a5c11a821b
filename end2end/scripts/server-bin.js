// Prints the path of the server binary the end-to-end tests run (see start-app.sh):
// E2E_PROFILE names the profile; unset, the newer of the release and the debug build.
const fs = require("node:fs");
const path = require("node:path");

function serverBin() {
  const target = process.env.E2E_TARGET_DIR ?? path.resolve(__dirname, "../../target");
  const bin = (profile) => path.join(target, profile, "server");
  if (process.env.E2E_PROFILE) return bin(process.env.E2E_PROFILE);
  const built = ["release", "debug"]
    .map((profile) => ({ file: bin(profile), mtime: fs.existsSync(bin(profile)) ? fs.statSync(bin(profile)).mtimeMs : -1 }))
    .sort((a, b) => b.mtime - a.mtime);
  return built[0].file;
}

module.exports = { serverBin };
if (require.main === module) console.log(serverBin());
