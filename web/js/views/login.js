// views/login.js: the sign-in form (POST /api/auth/login). Wrong credentials, throttling
// (429) and an unreachable server each show their own message under the form.

import { login, whoAmI } from '../api.js';
import { h, setChildren, messageSlot } from '../ui.js';

export async function render(ctx) {
  const message = messageSlot('error');
  const username = h('input#login-username', { name: 'username', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' });
  const password = h('input#login-password', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button.primary', { type: 'submit' }, 'Sign in');

  const form = h('form.card.login-form', { novalidate: true, 'aria-labelledby': 'login-title', onsubmit: onSubmit },
    h('h1#login-title', { tabindex: '-1' }, 'Sign in to infera'),
    h('p.muted', 'Segmentation and classification of your images, with masks you can look at.'),
    h('label', { for: 'login-username' }, 'User name'), username,
    h('label', { for: 'login-password' }, 'Password'), password,
    message,
    submit);

  async function onSubmit(event) {
    event.preventDefault();
    if (!username.value.trim() || !password.value) {
      message.set('Enter your user name and password.');
      (username.value.trim() ? password : username).focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Signing in…';
    message.set('');
    try {
      await login(username.value.trim(), password.value);
      const who = await whoAmI();
      ctx.signedIn(who);
    } catch (e) {
      message.set(e.message);
      password.select();
      password.focus();
    } finally {
      submit.disabled = false;
      submit.textContent = 'Sign in';
    }
  }

  setChildren(ctx.root, h('div.login-page', form));
  username.focus();
}
