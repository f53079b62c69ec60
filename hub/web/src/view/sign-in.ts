// Signing in, when the hub has a dashboard password: a button in the header (Sign in / Sign out) and a small dialog
// asking for the password. The hub keeps the session in an HttpOnly cookie; the page only learns what it may do
// (GET /api/session) and shows the hub's own words when it refuses ("Wrong password").
import type { SessionInfo } from '../../../../shared/index.js';
import { button, h, setText, show } from './dom.js';
import { icon } from './icons.js';

export interface SignIn {
  /** The header's button. */
  button: HTMLButtonElement;
  dialog: HTMLDialogElement;
  setSession(session: SessionInfo | undefined): void;
  /** Opens the dialog, saying why when given. */
  ask(reason?: string): void;
}

export function signIn(handlers: { login(password: string): Promise<void>; logout(): Promise<void> }): SignIn {
  let session: SessionInfo | undefined;
  const reason = h('p', { class: 'dialog-message', attrs: { id: 'sign-in-reason' } });
  const input = h('input', { class: 'text-input', attrs: { type: 'password', name: 'password', autocomplete: 'current-password', required: '', 'aria-label': 'Dashboard password' } });
  const error = h('p', { class: 'form-error', attrs: { role: 'alert' } });
  const submit = h('button', { class: 'btn primary', text: 'Sign in', attrs: { type: 'submit' } });
  const cancel = h('button', { class: 'btn', text: 'Cancel', attrs: { type: 'button' } });
  const form = h('form', {},
    h('div', 'dialog-icon sign-in-icon', icon('online')),
    h('h2', { class: 'dialog-title', text: 'Sign in to discbridge', attrs: { id: 'sign-in-title' } }),
    reason,
    h('label', 'field', h('span', 'filter-label', 'Password'), input),
    error,
    h('div', 'dialog-actions', cancel, submit),
  );
  const dialog = h('dialog', { class: 'sign-in', attrs: { 'aria-labelledby': 'sign-in-title', 'aria-describedby': 'sign-in-reason' } }, form);
  cancel.addEventListener('click', () => dialog.close());
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submit.disabled = true;
    setText(error, '');
    handlers.login(input.value).then(() => {
      input.value = '';
      dialog.close();
    }, (failure: Error) => {
      setText(error, failure.message);
      input.select();
    }).finally(() => {
      submit.disabled = false;
    });
  });

  const headerButton = button('Sign in', 'btn ghost', () => {
    if (session?.signed_in) void handlers.logout();
    else signInView.ask();
  });

  const signInView: SignIn = {
    button: headerButton,
    dialog,
    setSession(next) {
      session = next;
      const wanted = next !== undefined && (next.signed_in || next.password_set);
      show(headerButton, wanted);
      setText(headerButton, next?.signed_in ? 'Sign out' : 'Sign in');
    },
    ask(why) {
      setText(reason, why ?? 'Enter the dashboard password set on the hub with "discbridge password".');
      setText(error, '');
      if (!dialog.open) dialog.showModal();
      input.focus();
    },
  };
  signInView.setSession(undefined);
  return signInView;
}
