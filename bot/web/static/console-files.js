// A ticket's attachments in the console's detail pane: photos as thumbnails, voice notes
// with a player, other files as download links. It reads each detail console.js loads
// (the "console:ticket-detail" event); the files come from the signed-in session's API.
(function () {
  "use strict";

  const KINDS = { photo: "照片", document: "文件", voice: "语音" };
  const title = document.getElementById("files-title");
  const list = document.getElementById("files");
  let shown = null;

  function sizeText(n) {
    if (typeof n !== "number" || n < 0) {
      return "";
    }
    if (n < 1024) {
      return n + " B";
    }
    if (n < 1024 * 1024) {
      return Math.round(n / 1024) + " KB";
    }
    return (n / (1024 * 1024)).toFixed(1).replace(/\.0$/, "") + " MB";
  }

  function safeUrl(url) {
    // Only the console's own file route: never a link the data could point elsewhere.
    return typeof url === "string" && url.indexOf("/api/console/tickets/") === 0 ? url : null;
  }

  function fileItem(f) {
    const url = safeUrl(f.url);
    const item = document.createElement("li");
    item.className = "file file-" + (KINDS[f.kind] ? f.kind : "document");
    const link = document.createElement("a");
    if (url) {
      link.href = url;
      link.target = "_blank";
      link.rel = "noopener";
    }
    if (url && f.inline === true) {
      const img = document.createElement("img");
      img.className = "file-thumb";
      img.src = url;
      img.alt = String(f.name || "");
      img.loading = "lazy";
      link.appendChild(img);
    } else if (url) {
      link.setAttribute("download", String(f.name || ""));
    }
    const label = document.createElement("span");
    label.className = "file-name";
    label.textContent = (KINDS[f.kind] || "附件") + "：" + String(f.name || "");
    const size = document.createElement("span");
    size.className = "file-size";
    size.textContent = sizeText(f.size); // on a line of its own, never broken
    label.appendChild(size);
    link.appendChild(label);
    item.appendChild(link);
    if (url && f.kind === "voice") {
      const audio = document.createElement("audio");
      audio.controls = true;
      audio.preload = "none";
      audio.src = url;
      item.appendChild(audio);
    }
    return item;
  }

  function render(files) {
    const key = JSON.stringify(files);
    if (key === shown) {
      return; // the detail refreshes every few seconds: keep thumbnails and players as they are
    }
    shown = key;
    while (list.firstChild) {
      list.removeChild(list.firstChild);
    }
    files.forEach(function (f) {
      if (f && typeof f === "object") {
        list.appendChild(fileItem(f));
      }
    });
    title.hidden = files.length === 0;
    list.hidden = files.length === 0;
  }

  document.addEventListener("console:ticket-detail", function (event) {
    const data = event.detail || {};
    render(Array.isArray(data.files) ? data.files : []);
  });
})();
