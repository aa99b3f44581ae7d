/*
 * Runs before the WebAssembly app and in every browser, including Internet Explorer 11 as used by
 * Microsoft Edge's IE mode (so: ES5 only, no arrow functions, no let/const). Without WebAssembly
 * the app cannot start; say so in Japanese instead of leaving 「読み込み中…」 forever.
 * A separate file, not an inline script, so a Content-Security-Policy without 'unsafe-inline'
 * still allows it.
 */
(function () {
  'use strict';

  var MESSAGE = 'Microsoft Edge の通常モード（IEモードではない）で開いてください';
  var DETAIL = 'このブラウザでは本システムを表示できません。Microsoft Edge を IE モードではない通常のモードで起動し、本システムの URL を開いてください。';
  var SLOW = '読み込みに時間がかかっています。ネットワークの状態を確認し、ページを再読み込みしてください。';

  function placeholder() {
    return document.getElementById('app-loading');
  }

  function show(title, detail) {
    var box = placeholder();
    if (!box) {
      return;
    }
    while (box.firstChild) {
      box.removeChild(box.firstChild);
    }
    box.className = 'app-loading app-loading-problem';
    box.setAttribute('role', 'alert');
    var heading = document.createElement('p');
    heading.className = 'app-loading-title';
    heading.appendChild(document.createTextNode(title));
    box.appendChild(heading);
    if (detail) {
      var text = document.createElement('p');
      text.appendChild(document.createTextNode(detail));
      box.appendChild(text);
    }
  }

  var hasWasm =
    typeof WebAssembly === 'object' &&
    WebAssembly !== null &&
    typeof WebAssembly.instantiate === 'function';

  if (!hasWasm) {
    show(MESSAGE, DETAIL);
    return;
  }

  // The app removes the placeholder when it mounts; if it is still there after a while, the
  // download or start-up failed.
  window.setTimeout(function () {
    var text = document.getElementById('app-loading-text');
    if (placeholder() && text) {
      text.appendChild(document.createElement('br'));
      text.appendChild(document.createTextNode(SLOW));
    }
  }, 20000);
})();
