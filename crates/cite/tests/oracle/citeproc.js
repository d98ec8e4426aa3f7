// The reference implementation, as an oracle for tests only (never shipped): citeproc-js
// formats the same CSL-JSON items in the same style XML as refsync-cite does.
//
// stdin: {"citeproc": path, "style": xml, "locales": dir, "lang": "en-US", "items": [...]}
// stdout: {"citations": [one per item, cited alone, in order], "bibliography": {id: entry}}
const fs = require("fs");
const path = require("path");
const input = JSON.parse(fs.readFileSync(0, "utf8"));
const CSL = require(input.citeproc);
const items = {};
for (const item of input.items) items[item.id] = item;
const sys = {
  retrieveLocale(lang) {
    for (const name of [`locales-${lang}.xml`, `locales-${lang.split("-")[0]}.xml`]) {
      const file = path.join(input.locales, name);
      if (fs.existsSync(file)) return fs.readFileSync(file, "utf8");
    }
    return fs.readFileSync(path.join(input.locales, "locales-en-US.xml"), "utf8");
  },
  retrieveItem(id) {
    return items[id];
  },
};
const engine = new CSL.Engine(sys, input.style, input.lang, true);
engine.setOutputFormat("text");
const ids = input.items.map((i) => i.id);
engine.updateItems(ids);
const citations = ids.map((id) => {
  try {
    return engine.makeCitationCluster([{ id }]);
  } catch (e) {
    return `ERROR ${e}`;
  }
});
const bibliography = {};
const made = engine.makeBibliography();
if (made) {
  const [params, entries] = made;
  params.entry_ids.forEach((entryIds, n) => {
    bibliography[entryIds[0]] = entries[n];
  });
}
process.stdout.write(JSON.stringify({ citations, bibliography }));
