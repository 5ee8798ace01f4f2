/*
 * Login and register forms: a show/hide toggle for the password, and the submit button is
 * disabled while the request is on its way (so a double click does not post twice).
 * The forms work without this script; it only adds comfort.
 */
(function () {
  'use strict';

  Array.prototype.forEach.call(document.querySelectorAll('[data-toggle-password]'), function (btn) {
    var input = document.getElementById(btn.getAttribute('data-toggle-password'));
    if (!input) return;
    btn.hidden = false;
    btn.addEventListener('click', function () {
      var show = input.type === 'password';
      input.type = show ? 'text' : 'password';
      btn.textContent = show ? 'Hide' : 'Show';
      btn.setAttribute('aria-pressed', show ? 'true' : 'false');
      input.focus();
    });
  });

  Array.prototype.forEach.call(document.querySelectorAll('form.form'), function (form) {
    form.addEventListener('submit', function () {
      // Never send the password field as plain text type.
      Array.prototype.forEach.call(form.querySelectorAll('[data-toggle-password]'), function (btn) {
        var input = document.getElementById(btn.getAttribute('data-toggle-password'));
        if (input) input.type = 'password';
      });
      var submit = form.querySelector('button[type="submit"]');
      if (submit) {
        // Disable after the browser has collected the form data.
        setTimeout(function () { submit.disabled = true; }, 0);
      }
    });
  });

  // Coming back with the browser's Back button restores the page as it was: enable the buttons again.
  window.addEventListener('pageshow', function () {
    Array.prototype.forEach.call(document.querySelectorAll('form.form button[type="submit"]'), function (b) {
      b.disabled = false;
    });
  });

  // Show the server's error message to screen readers and put the cursor where it helps.
  var error = document.getElementById('form-error');
  if (error) {
    var password = document.getElementById('password');
    var username = document.getElementById('username');
    if (username && username.value && password) password.focus();
  }
})();
